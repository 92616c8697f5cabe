package redisstore_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

// BenchmarkStore runs on a real Redis (REDIS_ADDR, or a private
// redis-server), and skips without one.
func BenchmarkStore(b *testing.B) {
	c := redistest.Client(b)
	storetest.Benchmark(b, redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(b)}), 256)
}

// BenchmarkStoreIndexed is BenchmarkStore with Config.Index: the price of
// the index on the request path, to compare side by side:
//
//	go test -run '^$' -bench 'BenchmarkStore' -count 5 ./redisstore
//
// Measured while the index was written (2 cores shared with other jobs,
// Redis 7.0, medians of 6 to 8 runs, parallel calls): Load with a touch
// 22.9 µs without the index, 40.1 µs with it; Update with MaxKeys 28.9 µs
// and 42.3 µs. A Load without a touch, the usual read, is one HGETALL in
// both modes (BenchmarkIndexCost).
func BenchmarkStoreIndexed(b *testing.B) {
	c := redistest.Client(b)
	storetest.Benchmark(b, redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(b), Index: true}), 256)
}

// BenchmarkIndexCost measures each request-path call with and without
// Config.Index, one at a time, and reports beside the time per call the
// CPU time Redis spent per call (redis-cpu-µs/op, from INFO cpu), which
// decides how many application servers one Redis carries:
//
//	go test -run '^$' -bench 'BenchmarkIndexCost' -count 5 ./redisstore
//
// Load is a read without a touch, the middleware's usual read; LoadTouch
// is a read with one, once a TouchInterval. Apply is a write of an Add
// (Session.Add), against Update's write of a Set.
func BenchmarkIndexCost(b *testing.B) {
	c := redistest.Client(b)
	d := store.Delta{Set: map[string][]byte{"counter": []byte("1")}}
	add := store.Delta{Add: map[string]int64{"hits": 1}}
	for _, index := range []bool{false, true} {
		s := redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(b), Index: index})
		ids := make([]string, 256)
		for i := range ids {
			ids[i] = strconv.Itoa(i%10) + "bench-index-cost-" + strconv.Itoa(i)
			vals := map[string][]byte{"user": []byte("42"), "theme": []byte(`"dark"`), "csrf": make([]byte, 32)}
			if err := s.Create(b.Context(), ids[i], vals, time.Hour, 0); err != nil {
				b.Fatalf("Create: %v", err)
			}
		}
		ops := []struct {
			name string
			call func(id string) error
		}{
			{"Load", func(id string) error { _, _, err := s.Load(b.Context(), id, 0); return err }},
			{"LoadTouch", func(id string) error { _, _, err := s.Load(b.Context(), id, time.Hour); return err }},
			{"Touch", func(id string) error { _, err := s.Touch(b.Context(), id, time.Hour); return err }},
			{"Update", func(id string) error { _, err := s.Update(b.Context(), id, d, time.Hour, 100); return err }},
			{"Apply", func(id string) error { _, _, err := s.Apply(b.Context(), id, add, time.Hour, 100); return err }},
		}
		for _, op := range ops {
			b.Run(op.name+"/Index="+strconv.FormatBool(index), func(b *testing.B) {
				if err := op.call(ids[0]); err != nil { // the script into the cache
					b.Fatal(err)
				}
				b.ReportAllocs()
				before := redisCPU(b, c)
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if err := op.call(ids[i%len(ids)]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(redisCPU(b, c)-before)/float64(time.Microsecond)/float64(b.N), "redis-cpu-µs/op")
			})
		}
	}
}

// redisCPU returns the CPU time the Redis of c has used, user and system.
func redisCPU(b *testing.B, c redis.UniversalClient) time.Duration {
	b.Helper()
	info, err := c.Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatalf("INFO cpu: %v", err)
	}
	var total time.Duration
	for line := range strings.SplitSeq(info, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "used_cpu_user" && name != "used_cpu_sys") {
			continue
		}
		seconds, err := strconv.ParseFloat(value, 64)
		if err != nil {
			b.Fatalf("INFO cpu: %s: %v", line, err)
		}
		total += time.Duration(seconds * float64(time.Second))
	}
	return total
}
