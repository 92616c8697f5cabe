package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

func Example() {
	s := memstore.New(memstore.Config{})
	defer s.Close()
	ctx := context.Background()

	id := "Zm9yIGV4YW1wbGUgb25seQ" // real IDs are 16 random bytes, base64url
	err := s.Create(ctx, id, map[string][]byte{"user": []byte("42")}, 24*time.Hour, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.Update(ctx, id, store.Delta{Set: map[string][]byte{"theme": []byte("dark")}}, 24*time.Hour, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	values, found, err := s.Load(ctx, id, 0)
	fmt.Println(found, err, string(values["user"]), string(values["theme"]))
	// Output: true <nil> 42 dark
}
