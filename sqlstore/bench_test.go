package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

// BenchmarkStore measures Load with a touch and Update, in parallel, on
// each database (see storetest.Benchmark). PostgreSQL is the tests'
// server: private ones run without fsync.
func BenchmarkStore(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			s, _ := fresh(b, bk)
			storetest.Benchmark(b, s, 1024)
		})
	}
}

// BenchmarkApply measures Apply, in parallel, on 1024 sessions as
// BenchmarkStore does: an Add to a stored counter (BEGIN, guard, read,
// apply, COMMIT on PostgreSQL) and a Take of a key the Delta sets (no
// read: the transaction of an Update that deletes keys).
func BenchmarkApply(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			s, _ := fresh(b, bk)
			ids := make([]string, 1024)
			for i := range ids {
				ids[i] = fmt.Sprintf("A%021d", i)
				vals := map[string][]byte{"user": []byte("42"), "theme": []byte(`"dark"`), "csrf": make([]byte, 32)}
				if err := s.Create(b.Context(), ids[i], vals, time.Hour, 0); err != nil {
					b.Fatal(err)
				}
			}
			for _, op := range []struct {
				name string
				d    store.Delta
			}{
				{"Add", store.Delta{Add: map[string]int64{"counter": 1}}},
				{"SetTake", store.Delta{Set: map[string][]byte{"flash": []byte("1")}, Take: []string{"flash"}}},
			} {
				b.Run(op.name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for i := 0; pb.Next(); i++ {
							if _, _, err := s.Apply(b.Context(), ids[i%len(ids)], op.d, time.Hour, 100); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}
