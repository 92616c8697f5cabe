package redistest_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
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

func TestPausableServer(t *testing.T) {
	addr, pause, resume := redistest.PausableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	t.Run("a running server answers PING", func(t *testing.T) {
		if err := ping(); err != nil {
			t.Errorf("PING: got error %v, want nil", err)
		}
	})
	t.Run("a paused server answers nothing", func(t *testing.T) {
		pause()
		if err := ping(); err == nil {
			t.Errorf("PING: got no error, want the context's deadline")
		}
	})
	t.Run("a resumed server answers again", func(t *testing.T) {
		resume()
		if err := ping(); err != nil {
			t.Errorf("PING: got error %v, want nil", err)
		}
	})
}

func TestRestartableServer(t *testing.T) {
	addr, kill, restart := redistest.RestartableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	ctx := t.Context()
	if err := c.Set(ctx, "kept", "v", 0).Err(); err != nil {
		t.Fatalf("SET: got error %v, want nil", err)
	}
	cfg, err := c.ConfigGet(ctx, "append*").Result()
	if err != nil || cfg["appendonly"] != "yes" || cfg["appendfsync"] != "always" {
		t.Errorf("CONFIG GET append*: got %v, %v, want appendonly yes and appendfsync always", cfg, err)
	}
	kill()
	t.Run("a killed server answers nothing", func(t *testing.T) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("dial %s after kill: got a connection, want an error", addr)
		}
	})
	restart()
	t.Run("the restarted server, on the same address, has the acknowledged write", func(t *testing.T) {
		if got, err := c.Get(ctx, "kept").Result(); err != nil || got != "v" {
			t.Errorf("GET kept: got %q, %v, want \"v\"", got, err)
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
	// A key laid out as redisstore lays out a session: braces are not
	// pattern syntax for SCAN.
	set(prefix+":shop:{shop:A}:AAAA", 10*time.Second)
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
		// The real clock runs meanwhile: allow 3 s for a loaded CI machine.
		for _, key := range []string{prefix + ":short", prefix + ":shop:{shop:A}:AAAA"} {
			if got := pttl(key); got <= 2*time.Second || got > 5*time.Second {
				t.Errorf("PTTL %s: got %v, want about 5s", key, got)
			}
		}
		if got := pttl(prefix + ":long"); got <= time.Hour-8*time.Second || got > time.Hour-5*time.Second {
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

func TestCounterAttach(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	t.Run("on a client of one server, attaching twice counts each round trip once", func(t *testing.T) {
		counter := &redistest.Counter{}
		for range 2 {
			if err := counter.Attach(t.Context(), c); err != nil {
				t.Fatalf("Attach: got error %v, want nil", err)
			}
		}
		c.Get(t.Context(), "k")
		if got, want := counter.RoundTrips(), int64(1); got != want {
			t.Errorf("RoundTrips: got %v, want %v", got, want)
		}
	})
}

// TestCluster runs on one Cluster, which its subtests share.
func TestCluster(t *testing.T) {
	var nodes []string // of a private Cluster, to check that it stops
	t.Run("tests that hold the Cluster", func(t *testing.T) {
		c := redistest.ClusterClient(t)
		ctx := t.Context()
		masters := func(t *testing.T, c *redis.ClusterClient) []string {
			t.Helper()
			var (
				mu    sync.Mutex
				addrs []string
			)
			err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
				info, err := m.ClusterInfo(ctx).Result()
				if err == nil && !strings.Contains(info, "cluster_state:ok") {
					t.Errorf("CLUSTER INFO on %s: got %q, want cluster_state:ok", m.Options().Addr, info)
				}
				mu.Lock()
				addrs = append(addrs, m.Options().Addr)
				mu.Unlock()
				return err
			})
			if err != nil {
				t.Fatalf("CLUSTER INFO on every master: got error %v, want nil", err)
			}
			slices.Sort(addrs)
			return addrs
		}
		all := masters(t, c)
		if os.Getenv("REDIS_CLUSTER_ADDRS") == "" {
			nodes = all
		}

		t.Run("every master reports cluster_state:ok; a private Cluster has three, on loopback ports", func(t *testing.T) {
			if nodes == nil {
				t.Skip("REDIS_CLUSTER_ADDRS is set: no private Cluster is started")
			}
			if len(nodes) != 3 {
				t.Fatalf("masters: got %v, want three", nodes)
			}
			for _, addr := range nodes {
				if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:6379" {
					t.Errorf("master address: got %v, want 127.0.0.1 and a port other than 6379", addr)
				}
			}
			cfg, err := c.ConfigGet(ctx, "*").Result()
			if err != nil {
				t.Fatalf("CONFIG GET: got error %v, want nil", err)
			}
			if cfg["save"] != "" || cfg["appendonly"] != "no" || cfg["cluster-enabled"] != "yes" {
				t.Errorf("CONFIG save, appendonly, cluster-enabled: got %q, %q, %q, want \"\", \"no\", \"yes\"",
					cfg["save"], cfg["appendonly"], cfg["cluster-enabled"])
			}
		})
		t.Run("a ClusterClient asked for while the Cluster is held reaches the same Cluster", func(t *testing.T) {
			if got := masters(t, redistest.ClusterClient(t)); !slices.Equal(got, masters(t, c)) {
				t.Errorf("masters: got %v, want %v", got, masters(t, c))
			}
		})

		// keysOnEveryMaster returns keys under prefix that live on every
		// master, one per master.
		keysOnEveryMaster := func(t *testing.T, c *redis.ClusterClient, prefix string) []string {
			t.Helper()
			seen := map[string]bool{}
			var keys []string
			for i := 0; len(seen) < len(all); i++ {
				if i == 1000 {
					t.Fatalf("found keys on %d masters only", len(seen))
				}
				key := prefix + ":" + strconv.Itoa(i)
				m, err := c.MasterForKey(ctx, key)
				if err != nil {
					t.Fatalf("MasterForKey: got error %v, want nil", err)
				}
				if addr := m.Options().Addr; !seen[addr] {
					seen[addr] = true
					keys = append(keys, key)
				}
			}
			return keys
		}

		t.Run("Counter.Attach counts the round trips each node gets", func(t *testing.T) {
			c := redistest.ClusterClient(t) // a fresh client: no node opened yet
			counter := &redistest.Counter{}
			if err := counter.Attach(ctx, c); err != nil {
				t.Fatalf("Attach: got error %v, want nil", err)
			}
			keys := keysOnEveryMaster(t, c, redistest.Prefix(t))
			wantCounted := func(t *testing.T, roundTrips int64, commands ...string) {
				t.Helper()
				if got := counter.RoundTrips(); got != roundTrips {
					t.Errorf("RoundTrips: got %v, want %v", got, roundTrips)
				}
				if got := counter.Commands(); !slices.Equal(got, commands) {
					t.Errorf("Commands: got %v, want %v", got, commands)
				}
				counter.Reset()
			}
			counter.Reset()

			t.Run("a command is one round trip; the client's CLUSTER SLOTS and COMMAND are not counted", func(t *testing.T) {
				c := redistest.ClusterClient(t) // fresh again: it has still to learn the topology
				counter := &redistest.Counter{}
				if err := counter.Attach(ctx, c); err != nil {
					t.Fatalf("Attach: got error %v, want nil", err)
				}
				c.Get(ctx, keys[0])
				if got, want := counter.Commands(), []string{"get"}; !slices.Equal(got, want) || counter.RoundTrips() != 1 {
					t.Errorf("got %v round trips carrying %v, want 1 carrying %v", counter.RoundTrips(), got, want)
				}
			})
			t.Run("a pipeline on one slot is one round trip", func(t *testing.T) {
				_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					p.Get(ctx, keys[0])
					p.PExpire(ctx, keys[0], time.Hour)
					return nil
				})
				wantCounted(t, 1, "get", "pexpire")
			})
			t.Run("a pipeline with keys on every master is one round trip per master", func(t *testing.T) {
				_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, key := range keys {
						p.Get(ctx, key)
					}
					return nil
				})
				wantCounted(t, int64(len(keys)), slices.Repeat([]string{"get"}, len(keys))...)
			})
			t.Run("SCRIPT LOAD, one command to the Cluster client, is one round trip per master", func(t *testing.T) {
				if err := c.ScriptLoad(ctx, "return 1").Err(); err != nil {
					t.Fatalf("SCRIPT LOAD: got error %v, want nil", err)
				}
				wantCounted(t, int64(len(keys)), slices.Repeat([]string{"script"}, len(keys))...)
			})
			t.Run("a client in use before Attach is counted too, once however often attached", func(t *testing.T) {
				counter := &redistest.Counter{}
				for range 2 {
					if err := counter.Attach(ctx, c); err != nil {
						t.Fatalf("Attach: got error %v, want nil", err)
					}
				}
				for _, key := range keys {
					c.Get(ctx, key)
				}
				if got, want := counter.RoundTrips(), int64(len(keys)); got != want {
					t.Errorf("RoundTrips: got %v, want %v", got, want)
				}
			})
		})

		t.Run("Advance ages the keys of every master", func(t *testing.T) {
			prefix := redistest.Prefix(t)
			keys := keysOnEveryMaster(t, c, prefix)
			for _, key := range keys {
				if err := c.Set(ctx, key, "v", 10*time.Second).Err(); err != nil {
					t.Fatalf("SET %s: got error %v, want nil", key, err)
				}
			}
			redistest.Advance(t, c, prefix, 5*time.Second)
			for _, key := range keys {
				if got, err := c.PTTL(ctx, key).Result(); err != nil || got <= 4*time.Second || got > 5*time.Second {
					t.Errorf("PTTL %s: got %v, %v, want about 5s", key, got, err)
				}
			}
			redistest.Advance(t, c, prefix, 6*time.Second)
			for _, key := range keys {
				if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
					t.Errorf("EXISTS %s: got %v, %v, want 0, nil", key, n, err)
				}
			}
		})
	})
	if len(nodes) == 0 {
		return // skipped, or not a private Cluster
	}
	t.Run("a private Cluster stops when the last test holding it ends", func(t *testing.T) {
		for _, addr := range nodes {
			if conn, err := net.Dial("tcp", addr); err == nil {
				conn.Close()
				t.Errorf("dial %s after the tests: got a connection, want an error", addr)
			}
		}
	})
}

func TestSentinelClient(t *testing.T) {
	var primary string
	t.Run("the client reaches the primary through the Sentinel, and Counter counts its round trips", func(t *testing.T) {
		c := redistest.SentinelClient(t)
		ctx := t.Context()
		counter := &redistest.Counter{}
		if err := counter.Attach(ctx, c); err != nil {
			t.Fatalf("Attach: got error %v, want nil", err)
		}
		info, err := c.Info(ctx, "server", "replication").Result()
		if err != nil {
			t.Fatalf("INFO: got error %v, want nil", err)
		}
		if !strings.Contains(info, "redis_mode:standalone") || !strings.Contains(info, "role:master") {
			t.Errorf("INFO: got %q, want redis_mode:standalone and role:master", info)
		}
		c.Get(ctx, "k")
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Get(ctx, "k").Err() })
		if got, want := counter.Commands(), []string{"info", "get", "get"}; !slices.Equal(got, want) || counter.RoundTrips() != 3 {
			t.Errorf("got %v round trips carrying %v, want 3 carrying %v", counter.RoundTrips(), got, want)
		}
		port, err := c.ConfigGet(ctx, "port").Result()
		if err != nil {
			t.Fatalf("CONFIG GET port: got error %v, want nil", err)
		}
		primary = net.JoinHostPort("127.0.0.1", port["port"])
	})
	if primary == "" {
		return // skipped
	}
	t.Run("the primary is gone after the test", func(t *testing.T) {
		if conn, err := net.Dial("tcp", primary); err == nil {
			conn.Close()
			t.Errorf("dial %s after the test: got a connection, want an error", primary)
		}
	})
}

func TestReplicatedSentinel(t *testing.T) {
	c, failover, switched := redistest.ReplicatedSentinel(t)
	ctx := t.Context()
	port := func() string {
		t.Helper()
		cfg, err := c.ConfigGet(ctx, "port").Result()
		if err != nil {
			t.Fatalf("CONFIG GET port: got error %v, want nil", err)
		}
		return cfg["port"]
	}
	before := port()
	if err := c.Set(ctx, "kept", "v", 0).Err(); err != nil {
		t.Fatalf("SET: got error %v, want nil", err)
	}
	if n, err := c.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: got %d, %v, want 1 replica", n, err)
	}
	start := time.Now()
	failover()
	switched()
	t.Logf("the failover took %v", time.Since(start))
	// The client hears of the switch from the Sentinel, a moment later.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.Set(ctx, "after", "w", 0).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("SET after the failover: still failing after 30s")
		}
		<-tick.C
	}
	if after := port(); after == before {
		t.Errorf("after the failover the client writes to port %s, want another primary than %s", after, before)
	}
	if got, err := c.Get(ctx, "kept").Result(); err != nil || got != "v" {
		t.Errorf("GET kept after the failover: got %q, %v, want \"v\"", got, err)
	}
}

func TestBreakableCluster(t *testing.T) {
	c, kill := redistest.BreakableCluster(t)
	ctx := t.Context()
	// Keys whose hash tags land on every master: one per slot range.
	masters := map[string]string{} // master address -> a key it holds
	for i := 0; len(masters) < 3 && i < 1000; i++ {
		key := fmt.Sprintf("{k%d}", i)
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			t.Fatalf("MasterForKey: got error %v, want nil", err)
		}
		if _, ok := masters[m.Options().Addr]; !ok {
			masters[m.Options().Addr] = key
			if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
				t.Fatalf("SET %s: got error %v, want nil", key, err)
			}
		}
	}
	if len(masters) != 3 {
		t.Fatalf("found keys on %d masters, want 3", len(masters))
	}
	var victim string
	for addr := range masters {
		victim = addr
		break
	}
	kill(victim)
	for addr, key := range masters {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		got, err := c.Get(ctx, key).Result()
		cancel()
		switch {
		case addr == victim && err == nil:
			t.Errorf("GET %s on the killed node %s: got %q, want an error", key, addr, got)
		case addr != victim && (err != nil || got != "v"):
			t.Errorf("GET %s on the live node %s: got %q, %v, want \"v\"", key, addr, got, err)
		}
	}
}
