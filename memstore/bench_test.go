package memstore_test

import (
	"testing"

	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store/storetest"
)

func BenchmarkStore(b *testing.B) {
	s := memstore.New(memstore.Config{})
	defer s.Close()
	storetest.Benchmark(b, s, 1024)
}
