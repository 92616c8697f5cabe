package redisstore_test

import (
	"testing"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store/storetest"
)

// BenchmarkStore runs on a real Redis (REDIS_ADDR, or a private
// redis-server), and skips without one.
func BenchmarkStore(b *testing.B) {
	c := redistest.Client(b)
	storetest.Benchmark(b, redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(b)}), 256)
}
