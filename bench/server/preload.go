package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/securecookie"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/bench/internal/result"
	"github.com/seed58a3dad2/session/memstore"
)

// preload fills the contender's store with n sessions of keys values each,
// laid out as the contender itself stores them, and writes a cookie for each
// to the file tokens, name=value one a line, for bench/load -cookies. It is
// what bench/scale.sh measures growth with: creating a million sessions
// through HTTP would take minutes, a pipeline takes seconds.
//
// The values are what /login stores, "user" = "ann" and "n" = 0, then
// "k2", "k3", ... = "value-<i>" up to keys values ("user" alone for 1).
// Redis sessions are written with pipelined commands in batches of 1000;
// memstore's with its own Create.
func preload(ctx context.Context, name string, c redis.UniversalClient, mem *memstore.Store, n, keys int, tokens string) (result.Preload, error) {
	rep := result.Preload{Contender: name, Sessions: n, Keys: keys}
	f, err := os.Create(tokens)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)

	fill, err := preloader(name, keys, mem)
	if err != nil {
		return rep, err
	}
	usedBefore, err := usedMemory(ctx, c)
	if err != nil {
		return rep, err
	}
	heapBefore := heapAlloc()
	start := time.Now()
	const batch = 1000
	for i := 0; i < n; i += batch {
		pipe := c.Pipeline()
		for range min(batch, n-i) {
			cookie, err := fill(ctx, pipe)
			if err != nil {
				return rep, err
			}
			w.WriteString(cookie)
			w.WriteByte('\n')
		}
		if pipe.Len() > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return rep, fmt.Errorf("preload: %w", err)
			}
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	usedAfter, err := usedMemory(ctx, c)
	if err != nil {
		return rep, err
	}
	rep.RedisBytes = float64(usedAfter-usedBefore) / float64(n)
	rep.HeapBytes = float64(int64(heapAlloc())-int64(heapBefore)) / float64(n)
	runtime.KeepAlive(mem)
	return rep, w.Flush()
}

// filler stores one session, in pipe or in process, and returns its cookie.
type filler func(ctx context.Context, pipe redis.Pipeliner) (cookie string, err error)

// preloader returns the filler of contender name.
func preloader(name string, keys int, mem *memstore.Store) (filler, error) {
	if keys < 1 {
		return nil, fmt.Errorf("preload: -keys %d: want at least 1", keys)
	}
	values := preloadValues(keys)
	switch name {
	case "session-redis", "hash-hgetall", "hash-hmget":
		args := []any{"@created", time.Now().UnixMilli()}
		for k, v := range values {
			args = append(args, k, v)
		}
		tokens := tokenMinter()
		return func(ctx context.Context, pipe redis.Pipeliner) (string, error) {
			id := newID()
			key := hashKey(id)
			pipe.HSet(ctx, key, args...)
			pipe.PExpire(ctx, key, idleTimeout)
			if name != "session-redis" {
				return "fid=" + id, nil
			}
			return tokens(id)
		}, nil
	case "session-mem":
		if mem == nil {
			return nil, fmt.Errorf("preload: no memstore")
		}
		tokens := tokenMinter()
		return func(ctx context.Context, _ redis.Pipeliner) (string, error) {
			id := newID()
			if err := mem.Create(ctx, id, values, idleTimeout, 0); err != nil {
				return "", err
			}
			return tokens(id)
		}, nil
	case "floor":
		// floor keeps one key per value it is asked for: /read's "user".
		return func(ctx context.Context, pipe redis.Pipeliner) (string, error) {
			id := newID()
			pipe.Set(ctx, "floor:"+id+":user", "ann", idleTimeout)
			return "fid=" + id, nil
		}, nil
	case "scs":
		// goredisstore: "scs:session:" and a 43-character token, the gob of
		// the deadline and the values (scs's default Lifetime is 24 hours).
		var codec scs.GobCodec
		blob, err := codec.Encode(time.Now().Add(24*time.Hour), goValues(keys))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, pipe redis.Pipeliner) (string, error) {
			var tok [32]byte
			_, _ = rand.Read(tok[:])
			t := base64.RawURLEncoding.EncodeToString(tok[:])
			pipe.Set(ctx, "scs:session:"+t, blob, idleTimeout)
			return "session=" + t, nil
		}, nil
	case "gorilla":
		// rbcervilla/redisstore: the prefix and a base32 key of 64 random
		// bytes, the gob of the Values; the cookie holds the key itself.
		m := map[any]any{}
		for k, v := range goValues(keys) {
			m[k] = v
		}
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(m); err != nil {
			return nil, err
		}
		blob := buf.Bytes()
		return func(ctx context.Context, pipe redis.Pipeliner) (string, error) {
			var k [64]byte
			_, _ = rand.Read(k[:])
			id := strings.TrimRight(base32.StdEncoding.EncodeToString(k[:]), "=")
			pipe.Set(ctx, "gsession:"+id, blob, idleTimeout)
			return "session=" + id, nil
		}, nil
	}
	return nil, fmt.Errorf("preload: contender %q cannot be preloaded", name)
}

// preloadValues returns keys values as this library's JSON codec stores
// them.
func preloadValues(keys int) map[string][]byte {
	m := map[string][]byte{"user": []byte(`"ann"`)}
	if keys > 1 {
		m["n"] = []byte(`0`)
	}
	for i := 2; i < keys; i++ {
		m["k"+strconv.Itoa(i)] = []byte(`"value-` + strconv.Itoa(i) + `"`)
	}
	return m
}

// goValues returns preloadValues as the Go values scs and gorilla encode.
func goValues(keys int) map[string]any {
	m := map[string]any{"user": "ann"}
	if keys > 1 {
		m["n"] = 0
	}
	for i := 2; i < keys; i++ {
		m["k"+strconv.Itoa(i)] = "value-" + strconv.Itoa(i)
	}
	return m
}

// newID returns an ID like this library's: 128 random bits, base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashKey is redisstore's key of session id for Application "bench": see
// redisstore's package documentation.
func hashKey(id string) string {
	return "session:bench:{bench:" + id[:1] + "}:" + id
}

// tokenMinter returns a function that signs a token for an ID as the
// library's middleware does with benchKey (session/token.go: version 1,
// the ID's 16 bytes, created and issued in unix milliseconds, signed by
// securecookie under the name "session"), issued now: the bench copies the
// wire format because the library issues tokens only in a response. A
// change of that format shows up as every preloaded request failing.
func tokenMinter() func(id string) (string, error) {
	sc := securecookie.New(benchKey, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(0)
	now := uint64(time.Now().UnixMilli())
	return func(id string) (string, error) {
		var p [1 + 16 + 8 + 8]byte
		p[0] = 1
		if n, err := base64.RawURLEncoding.Decode(p[1:17], []byte(id)); err != nil || n != 16 {
			return "", fmt.Errorf("preload: bad ID %q", id)
		}
		binary.BigEndian.PutUint64(p[17:], now)
		binary.BigEndian.PutUint64(p[25:], now)
		tok, err := sc.Encode("session", p[:])
		return "session=" + tok, err
	}
}

// usedMemory returns INFO memory used_memory, summed over a Cluster's
// masters.
func usedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
	one := func(ctx context.Context, c *redis.Client) (int64, error) {
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
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return one(ctx, c.(*redis.Client))
	}
	var total atomic.Int64 // ForEachMaster runs one goroutine per master
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := one(ctx, m)
		total.Add(n)
		return err
	})
	return total.Load(), err
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
