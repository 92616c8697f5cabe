package memstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

func BenchmarkStore(b *testing.B) {
	s := memstore.New(memstore.Config{})
	defer s.Close()
	storetest.Benchmark(b, s, 1024)
}

// BenchmarkCalls measures the calls of the request path that
// storetest.Benchmark leaves out, in parallel, each goroutine on sessions of
// its own: what the index, the expiry claims and the limiter's count may
// cost them.
func BenchmarkCalls(b *testing.B) {
	s := memstore.New(memstore.Config{})
	defer s.Close()
	ctx := b.Context()
	vals := map[string][]byte{"user": []byte("42"), "theme": []byte(`"dark"`), "csrf": make([]byte, 32)}
	var next atomic.Int64 // hands each goroutine a block of IDs
	ids := make([]string, 1<<16)
	for i := range ids {
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		ids[i] = base64.RawURLEncoding.EncodeToString(raw[:])
	}
	// block returns 64 IDs no other goroutine uses.
	block := func() []string {
		i := int(next.Add(1)) % (len(ids) / 64)
		return ids[i*64 : (i+1)*64]
	}
	b.Run("CreateDelete", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			mine := block()
			for i := 0; pb.Next(); i++ {
				id := mine[i%len(mine)]
				if err := s.Create(ctx, id, vals, time.Hour, 0); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.Delete(ctx, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Touch", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			mine := block()
			for _, id := range mine {
				_ = s.Create(ctx, id, vals, time.Hour, 0)
			}
			for i := 0; pb.Next(); i++ {
				if _, err := s.Touch(ctx, mine[i%len(mine)], time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Move", func(b *testing.B) {
		b.ReportAllocs()
		d := store.Delta{Set: map[string][]byte{"n": []byte("1")}}
		b.RunParallel(func(pb *testing.PB) {
			mine := block()
			from, to := mine[0], mine[0][:1]+mine[1][1:]
			_ = s.Create(ctx, from, vals, time.Hour, 0)
			for pb.Next() {
				if _, err := s.Move(ctx, from, to, d, time.Hour, 0); err != nil {
					b.Error(err)
					return
				}
				from, to = to, from
			}
		})
	})
}
