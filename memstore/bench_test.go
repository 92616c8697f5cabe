package memstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// benchIDs creates n sessions with a few values and returns their IDs.
func benchIDs(b *testing.B, s *memstore.Store, n int) []string {
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
	return ids
}

func BenchmarkLoad(b *testing.B) {
	s := memstore.New(memstore.Config{})
	defer s.Close()
	ids := benchIDs(b, s, 1024)
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
	s := memstore.New(memstore.Config{})
	defer s.Close()
	ids := benchIDs(b, s, 1024)
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
