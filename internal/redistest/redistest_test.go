package redistest_test

import (
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/redistest"
)

func TestCounter(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	counter := &redistest.Counter{}
	c.AddHook(counter)
	ctx := t.Context()

	t.Run("the handshakes of new connections are not counted", func(t *testing.T) {
		// The first command opens a connection, the first pipeline another
		// in the pool go-redis keeps for pipelines.
		c.Get(ctx, "k")
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Get(ctx, "k").Err() })
		if got, want := counter.RoundTrips(), int64(2); got != want {
			t.Errorf("RoundTrips: got %v, want %v", got, want)
		}
		if got, want := counter.Commands(), []string{"get", "get"}; !slices.Equal(got, want) {
			t.Errorf("Commands: got %v, want %v", got, want)
		}
	})
	t.Run("a command is one round trip and a pipeline is one round trip", func(t *testing.T) {
		counter.Reset()
		c.Set(ctx, "k", "v", 0)
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, "k")
			p.PExpire(ctx, "k", time.Hour)
			p.TTL(ctx, "k")
			return nil
		})
		if err != nil {
			t.Fatalf("pipeline: got error %v, want nil", err)
		}
		if got, want := counter.RoundTrips(), int64(2); got != want {
			t.Errorf("RoundTrips: got %v, want %v", got, want)
		}
		if got, want := counter.Commands(), []string{"set", "get", "pexpire", "ttl"}; !slices.Equal(got, want) {
			t.Errorf("Commands: got %v, want %v", got, want)
		}
	})
	t.Run("Reset forgets round trips and commands", func(t *testing.T) {
		c.Get(ctx, "k")
		counter.Reset()
		if got := counter.RoundTrips(); got != 0 {
			t.Errorf("RoundTrips: got %v, want 0", got)
		}
		if got := counter.Commands(); len(got) != 0 {
			t.Errorf("Commands: got %v, want none", got)
		}
	})
	t.Run("Commands returns a copy", func(t *testing.T) {
		counter.Reset()
		c.Get(ctx, "k")
		counter.Commands()[0] = "changed"
		if got, want := counter.Commands(), []string{"get"}; !slices.Equal(got, want) {
			t.Errorf("Commands: got %v, want %v", got, want)
		}
	})
	t.Run("concurrent commands are all counted", func(t *testing.T) {
		counter.Reset()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { c.Get(ctx, "k") })
		}
		wg.Wait()
		if got, want := counter.RoundTrips(), int64(20); got != want {
			t.Errorf("RoundTrips: got %v, want %v", got, want)
		}
	})
}

func TestPrefix(t *testing.T) {
	t.Run("each call returns a different prefix", func(t *testing.T) {
		a, b := redistest.Prefix(t), redistest.Prefix(t)
		if a == b || !strings.HasPrefix(a, "test-") {
			t.Errorf("Prefix: got %q and %q, want two different prefixes starting with test-", a, b)
		}
	})
}

func TestClient(t *testing.T) {
	t.Run("the client answers PING", func(t *testing.T) {
		c := redistest.Client(t)
		if err := c.Ping(t.Context()).Err(); err != nil {
			t.Errorf("PING: got error %v, want nil", err)
		}
	})
	t.Run("a private server persists nothing and is gone after the test", func(t *testing.T) {
		if os.Getenv("REDIS_ADDR") != "" {
			t.Skip("REDIS_ADDR is set: no private server is started")
		}
		var addr string
		t.Run("start", func(t *testing.T) {
			c := redistest.Client(t)
			addr = c.(*redis.Client).Options().Addr
			if addr == "127.0.0.1:6379" || addr == "localhost:6379" {
				t.Errorf("private server: got address %v, want anything but the default port", addr)
			}
			cfg, err := c.ConfigGet(t.Context(), "*").Result()
			if err != nil {
				t.Fatalf("CONFIG GET: got error %v, want nil", err)
			}
			if cfg["save"] != "" || cfg["appendonly"] != "no" {
				t.Errorf("CONFIG save, appendonly: got %q, %q, want \"\", \"no\"", cfg["save"], cfg["appendonly"])
			}
		})
		if addr == "" {
			return // skipped: no redis-server
		}
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("dial %s after the test: got a connection, want an error", addr)
		}
	})
}

func TestAdvance(t *testing.T) {
	c := redistest.Client(t)
	ctx := t.Context()
	prefix := redistest.Prefix(t)
	other := redistest.Prefix(t)
	set := func(key string, ttl time.Duration) {
		t.Helper()
		if err := c.Set(ctx, key, "v", ttl).Err(); err != nil {
			t.Fatalf("SET %s: got error %v, want nil", key, err)
		}
	}
	set(prefix+":short", 10*time.Second)
	set(prefix+":long", time.Hour)
	set(prefix+":forever", 0)
	set(other+":short", 10*time.Second)

	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: got error %v, want nil", key, err)
		}
		return d
	}
	t.Run("Advance reduces the ttl of keys under the prefix", func(t *testing.T) {
		redistest.Advance(t, c, prefix, 5*time.Second)
		if got := pttl(prefix + ":short"); got <= 4*time.Second || got > 5*time.Second {
			t.Errorf("PTTL short: got %v, want about 5s", got)
		}
		if got := pttl(prefix + ":long"); got <= time.Hour-6*time.Second || got > time.Hour-5*time.Second {
			t.Errorf("PTTL long: got %v, want about 59m55s", got)
		}
	})
	t.Run("Advance deletes keys whose ttl runs out", func(t *testing.T) {
		redistest.Advance(t, c, prefix, 6*time.Second)
		if n, err := c.Exists(ctx, prefix+":short").Result(); err != nil || n != 0 {
			t.Errorf("EXISTS short: got %v, %v, want 0, nil", n, err)
		}
	})
	t.Run("Advance leaves keys without a ttl, and keys under other prefixes, alone", func(t *testing.T) {
		if got := pttl(prefix + ":forever"); got != -1 {
			t.Errorf("PTTL forever: got %v, want -1 (no ttl)", int64(got))
		}
		if got := pttl(other + ":short"); got <= 9*time.Second {
			t.Errorf("PTTL of a key under another prefix: got %v, want about 10s", got)
		}
	})
	t.Run("Advance reads the prefix literally, not as a pattern", func(t *testing.T) {
		set(other+"[ab]*", 10*time.Second)
		set(other+"a-key", 10*time.Second)
		redistest.Advance(t, c, other+"[ab]*", time.Minute)
		if n, err := c.Exists(ctx, other+"[ab]*").Result(); err != nil || n != 0 {
			t.Errorf("EXISTS of the key named by the prefix: got %v, %v, want 0, nil", n, err)
		}
		if n, err := c.Exists(ctx, other+"a-key").Result(); err != nil || n != 1 {
			t.Errorf("EXISTS of a key the prefix matches as a pattern: got %v, %v, want 1, nil", n, err)
		}
	})
}
