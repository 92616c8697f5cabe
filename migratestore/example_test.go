package migratestore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/migratestore"
)

// Moving an application's sessions from one store to another while clients
// use them: here from one memstore to another, as from memstore to
// redisstore when a single server becomes a farm.
func Example() {
	ctx := context.Background()
	keys := []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}}
	counter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, err := session.Get[int](s, "n")
		if err != nil {
			return
		}
		_ = s.Set("n", n+1)
		fmt.Fprint(w, n+1)
	})
	// count sends one request with the client's token and keeps the one
	// it gets back.
	count := func(h http.Handler, token *string) string {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set(session.HeaderID, *token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if t := w.Header().Get(session.HeaderID); t != "" {
			*token = t
		}
		return w.Body.String()
	}

	old := memstore.New(memstore.Config{})
	defer old.Close()
	before, _ := session.New(session.Config{Store: old, Keys: keys})
	defer before.Close()
	var ann, bob string
	fmt.Println("ann before the switch:", count(before.Handler(counter), &ann))
	fmt.Println("bob before the switch:", count(before.Handler(counter), &bob))

	// The switch: the servers get a Manager on a migratestore.Store.
	next := memstore.New(memstore.Config{})
	defer next.Close()
	st := migratestore.New(old, next, migratestore.Config{})
	after, _ := session.New(session.Config{Store: st, Keys: keys})
	defer after.Close()
	fmt.Println("ann after the switch:", count(after.Handler(counter), &ann)) // her session moves

	left, _ := st.Remaining(ctx)
	fmt.Println("sessions left in the old store:", left) // bob's
	moved, _ := st.MoveAll(ctx)
	left, _ = st.Remaining(ctx)
	fmt.Println("moved by MoveAll:", moved, "left:", left)
	fmt.Println("bob after MoveAll:", count(after.Handler(counter), &bob))
	// The old store can go: the servers' next Manager is on next alone.

	// Output:
	// ann before the switch: 1
	// bob before the switch: 1
	// ann after the switch: 2
	// sessions left in the old store: 1
	// moved by MoveAll: 1 left: 0
	// bob after MoveAll: 2
}
