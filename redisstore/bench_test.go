package redisstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// benchStore returns a Store on a real Redis (skipping without one) holding
// n sessions, and their IDs.
func benchStore(b *testing.B, n int) (*redisstore.Store, []string) {
	c := redistest.Client(b)
	s := redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(b)})
	ids := make([]string, n)
	for i := range ids {
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		ids[i] = base64.RawURLEncoding.EncodeToString(raw[:])
		vals := map[string][]byte{"user": []byte("42"), "theme": []byte("dark"), "csrf": make([]byte, 32)}
		if err := s.Create(b.Context(), ids[i], vals, time.Hour, 0); err != nil {
			b.Fatal(err)
		}
	}
	return s, ids
}

func BenchmarkLoad(b *testing.B) {
	s, ids := benchStore(b, 256)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := s.Load(b.Context(), ids[i%len(ids)], time.Hour); err != nil {
				b.Error(err)
			}
			i++
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	s, ids := benchStore(b, 256)
	d := store.Delta{Set: map[string][]byte{"counter": []byte("1")}, MaxKeys: 100}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Update(b.Context(), ids[i%len(ids)], d, time.Hour); err != nil {
				b.Error(err)
			}
			i++
		}
	})
}
