package sqlstore_test

import (
	"testing"

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
