package storetest

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Benchmark measures a store's Load (with a touch) and Update, in parallel,
// on n sessions of three small values each, so every backend is measured the
// same way:
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, memstore.New(memstore.Config{}), 1024) }
func Benchmark(b *testing.B, s store.Store, n int) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID(b)
		vals := map[string][]byte{"user": []byte("42"), "theme": []byte(`"dark"`), "csrf": make([]byte, 32)}
		if err := s.Create(b.Context(), ids[i], vals, time.Hour, 0); err != nil {
			b.Fatalf("Create: %v", err)
		}
	}
	d := store.Delta{Set: map[string][]byte{"counter": []byte("1")}}
	ops := []struct {
		name string
		call func(id string) error
	}{
		{"Load", func(id string) error { _, _, err := s.Load(b.Context(), id, time.Hour); return err }},
		{"Update", func(id string) error { _, err := s.Update(b.Context(), id, d, time.Hour, 100); return err }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if err := op.call(ids[i%len(ids)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
