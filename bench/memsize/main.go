// Command memsize measures what one session holding two small values
// ("user": "ann", "n": 0) costs in memory: in memstore (Go heap growth after
// a GC, divided by the number of sessions) and in Redis (INFO memory
// used_memory growth, divided likewise, and MEMORY USAGE of sampled keys),
// next to the blobs scs and gorilla/sessions (rbcervilla/redisstore) keep for
// the same values.
//
//	go run ./memsize -n 100000 -redis 127.0.0.1:PORT
//
// It runs FLUSHALL on that Redis between measurements: give it a private one
// (run.sh does).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/bench/internal/result"
	"github.com/seed58a3dad2/session/bench/internal/tables"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/redisstore"
)

// values are the session's values as this library's JSON codec stores them.
var values = map[string][]byte{"user": []byte(`"ann"`), "n": []byte(`0`)}

const ttl = 20 * time.Minute

func main() {
	n := flag.Int("n", 100_000, "sessions to create")
	addr := flag.String("redis", "", "a private Redis (FLUSHALL is run on it); without it only memstore is measured")
	jsonOut := flag.String("json", "", "also write the rows to this file, one JSON line each (bench/docgen reads them)")
	flag.Parse()
	log.SetFlags(0)

	rows := []result.MemSize{{Store: "memstore", Bytes: memstoreBytes(*n), Sessions: *n}}
	if *addr != "" {
		more, err := redisRows(*addr, *n)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, more...)
	}
	tables.Memory(os.Stdout, rows)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, rows); err != nil {
			log.Fatal(err)
		}
	}
}

// writeJSON writes rows to the file name, one JSON line each.
func writeJSON(name string, rows []result.MemSize) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// redisRows measures this library's Redis hashes and the peers' blobs on
// the Redis at addr.
func redisRows(addr string, n int) ([]result.MemSize, error) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 16, ContextTimeoutEnabled: true}) // redisstore.New requires it
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis %s: %v", addr, err)
	}
	st := redisstore.New(c, redisstore.Config{Application: "mem"})
	var rows []result.MemSize
	for _, m := range []struct {
		name   string
		fill   func(i int) error
		sample string
	}{
		{"redisstore (this library): hash with @created, user, n", func(int) error {
			return st.Create(ctx, newID(), values, ttl, 0)
		}, "session:mem:*"},
		{"scs goredisstore: gob blob (deadline + values)", scsFill(ctx, c), "scs:session:*"},
		{"gorilla rbcervilla/redisstore: gob blob of Values", gorillaFill(ctx, c), "gsession:*"},
	} {
		used, usage, err := redisBytes(ctx, c, n, m.fill, m.sample)
		if err != nil {
			return nil, err
		}
		rows = append(rows, result.MemSize{Store: "Redis, " + m.name, Bytes: used, Usage: usage, Sessions: n})
	}
	return rows, nil
}

// newID returns an ID like this library's: 128 random bits, base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func heap() uint64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memstoreBytes returns the heap growth per session of a memstore holding n
// sessions, each created as the middleware creates them.
func memstoreBytes(n int) float64 {
	before := heap()
	st := memstore.New(memstore.Config{SweepInterval: time.Hour})
	ctx := context.Background()
	for range n {
		if err := st.Create(ctx, newID(), values, ttl, 0); err != nil {
			log.Fatal(err)
		}
	}
	after := heap()
	runtime.KeepAlive(st)
	_ = st.Close()
	return float64(after-before) / float64(n)
}

// redisBytes empties Redis, creates n sessions with fill from 16 goroutines,
// and returns the growth of used_memory per session and the mean MEMORY
// USAGE of up to 200 keys matching sample.
func redisBytes(ctx context.Context, c *redis.Client, n int, fill func(int) error, sample string) (float64, float64, error) {
	if err := c.FlushAll(ctx).Err(); err != nil {
		return 0, 0, err
	}
	time.Sleep(100 * time.Millisecond) // let lazy frees settle
	before, err := usedMemory(ctx, c)
	if err != nil {
		return 0, 0, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := fill(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	after, err := usedMemory(ctx, c)
	if err != nil {
		return 0, 0, err
	}
	keys, _, err := c.Scan(ctx, 0, sample, 400).Result()
	if err != nil {
		return 0, 0, err
	}
	if len(keys) > 200 {
		keys = keys[:200]
	}
	var sum int64
	for _, k := range keys {
		u, err := c.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			return 0, 0, err
		}
		sum += u
	}
	usage := 0.0
	if len(keys) > 0 {
		usage = float64(sum) / float64(len(keys))
	}
	return float64(after-before) / float64(n), usage, nil
}

func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// scsFill stores what scs's goredisstore stores: under "scs:session:" and a
// 43-character token, its GobCodec encoding of the deadline and the values.
func scsFill(ctx context.Context, c *redis.Client) func(int) error {
	var codec scs.GobCodec
	return func(int) error {
		var tok [32]byte
		_, _ = rand.Read(tok[:])
		b, err := codec.Encode(time.Now().Add(24*time.Hour), map[string]any{"user": "ann", "n": 0})
		if err != nil {
			return err
		}
		return c.Set(ctx, "scs:session:"+base64.RawURLEncoding.EncodeToString(tok[:]), b, ttl).Err()
	}
}

// gorillaFill stores what rbcervilla/redisstore stores: under its prefix
// (set to "gsession:" in the benchmark) and a base32 key of 64 random bytes,
// the gob encoding of the session's Values.
func gorillaFill(ctx context.Context, c *redis.Client) func(int) error {
	return func(int) error {
		var k [64]byte
		_, _ = rand.Read(k[:])
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(map[any]any{"user": "ann", "n": 0}); err != nil {
			return err
		}
		key := strings.TrimRight(base32.StdEncoding.EncodeToString(k[:]), "=")
		return c.Set(ctx, "gsession:"+key, buf.Bytes(), ttl).Err()
	}
}
