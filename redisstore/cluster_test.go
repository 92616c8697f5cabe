package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

// conformance runs the store conformance suite on c, each case with a key
// prefix of its own.
func conformance(t *testing.T, c redis.UniversalClient) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		prefix := redistest.Prefix(t)
		return storetest.Harness{
			Store:   New(c, Config{Prefix: prefix}),
			Advance: func(d time.Duration) { redistest.Advance(t, c, prefix, d) },
		}
	})
}

// conformanceIndexed runs the suite on indexed stores on c (Config.Index),
// each case with a key prefix and a fake clock of its own.
func conformanceIndexed(t *testing.T, c redis.UniversalClient) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		prefix := redistest.Prefix(t)
		clock := fakeclock.New()
		return storetest.Harness{
			Store: New(c, Config{Prefix: prefix, Index: true, Now: clock.Now}), Now: clock.Now, Retention: time.Hour,
			Advance: func(d time.Duration) {
				clock.Advance(d)
				redistest.Advance(t, c, prefix, d)
			},
		}
	})
}

// TestCluster runs on one Redis Cluster, which its subtests share: a private
// Cluster takes seconds to start (see redistest.ClusterClient).
func TestCluster(t *testing.T) {
	c := redistest.ClusterClient(t)
	ctx := t.Context()

	t.Run("the conformance suite passes", func(t *testing.T) {
		conformance(t, c)
	})
	t.Run("the conformance suite passes with the index", func(t *testing.T) {
		conformanceIndexed(t, c)
	})
	t.Run("the capabilities work", func(t *testing.T) {
		testCapabilities(t, on(c))
	})
	t.Run("each method costs what it costs on a single server", func(t *testing.T) {
		testRoundTrips(t, redistest.ClusterClient(t), redistest.Prefix(t))
	})
	t.Run("each method with the index costs a round trip per master its pipelines reach", func(t *testing.T) {
		testIndexedRoundTrips(t, redistest.ClusterClient(t), redistest.Prefix(t))
	})

	t.Run("a session's key is in the slot of its shard, <Application>:<first character>, under every Prefix and Application", func(t *testing.T) {
		prefix := redistest.Prefix(t)
		id := newID()
		for _, cfg := range []Config{
			{Prefix: prefix, Application: "default"},
			{Prefix: prefix, Application: "shop"},
			{Prefix: prefix + ":other", Application: "a:b"},
		} {
			s := New(c, cfg)
			shard := cfg.Application + ":" + id[:1]
			if err := s.Create(ctx, id, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			if _, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"b": nil}}, time.Hour, 5); err != nil {
				t.Fatalf("Update: got error %v, want nil", err)
			}
			key := s.key(id)
			keySlot, err := c.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT %s: got error %v, want nil", key, err)
			}
			shardSlot, err := c.ClusterKeySlot(ctx, shard).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT %s: got error %v, want nil", shard, err)
			}
			if keySlot != shardSlot {
				t.Errorf("CLUSTER KEYSLOT %s: got %v, want %v, the slot of %q", key, keySlot, shardSlot, shard)
			}
			// The key is where the Cluster says its slot is served, so
			// every command on it went there.
			master, err := c.MasterForKey(ctx, shard)
			if err != nil {
				t.Fatalf("MasterForKey(%q): got error %v, want nil", shard, err)
			}
			if n, err := master.HLen(ctx, key).Result(); err != nil || n != 3 {
				t.Errorf("HLEN %s on %s: got %v, %v, want 3, nil", key, master.Options().Addr, n, err)
			}
		}
	})

	t.Run("the 64 shards of an application have 64 slots, spread over every master", func(t *testing.T) {
		s := New(c, Config{Prefix: redistest.Prefix(t), Application: "shop"})
		slots := map[int64]bool{}
		masters := map[string]int{}
		for _, first := range base64URL {
			key := s.key(string(first) + "AAAAAAAAAAAAAAAAAAAAA")
			slot, err := c.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT %s: got error %v, want nil", key, err)
			}
			slots[slot] = true
			masters[masterAddr(t, c, key)]++
		}
		if len(slots) != 64 {
			t.Errorf("slots of the 64 shards: got %d different ones, want 64", len(slots))
		}
		if n := countMasters(t, c); len(masters) != n {
			t.Errorf("masters serving a shard: got %v, want all %d", masters, n)
		}
	})

	t.Run("sessions spread over every master", func(t *testing.T) {
		prefix := redistest.Prefix(t)
		s := New(c, Config{Prefix: prefix})
		const sessions = 300
		for range sessions {
			if err := s.Create(ctx, newID(), nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		var (
			mu     sync.Mutex // protects counts
			counts = map[string]int{}
		)
		err := c.ForEachMaster(ctx, func(ctx context.Context, master *redis.Client) error {
			n := 0
			iter := master.Scan(ctx, 0, prefix+":*", 1000).Iterator()
			for iter.Next(ctx) {
				n++
			}
			mu.Lock()
			counts[master.Options().Addr] = n
			mu.Unlock()
			return iter.Err()
		})
		if err != nil {
			t.Fatalf("SCAN every master: got error %v, want nil", err)
		}
		total := 0
		for addr, n := range counts {
			total += n
			// Random IDs spread evenly over the 64 shards, and the shards
			// over the masters, though not evenly (16 to 24 of them per
			// master of a private Cluster). Less than a fifth of an even
			// share would be a skewed hash tag, not bad luck.
			if n < sessions/len(counts)/5 {
				t.Errorf("sessions on master %s: got %d of %d, want about %d", addr, n, sessions, sessions/len(counts))
			}
		}
		if total != sessions {
			t.Errorf("sessions found on the masters: got %d, want %d", total, sessions)
		}
	})

	t.Run("move renews an ID within its slot, on every master", func(t *testing.T) {
		s := New(c, Config{Prefix: redistest.Prefix(t)})
		masters := map[string]int{}
		// Two sessions per shard: every slot of the application, and so
		// every master, is hit.
		for i := range 2 * len(base64URL) {
			from := newID()
			from = string(base64URL[i%len(base64URL)]) + from[1:]
			to := renewedID(from)
			masters[masterAddr(t, c, s.key(from))]++

			vals := map[string][]byte{"user": []byte("42"), "cart": []byte("3")}
			if err := s.Create(ctx, from, vals, time.Minute, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			d := store.Delta{Del: []string{"cart"}, Set: map[string][]byte{"role": []byte("admin")}}
			found, err := s.Move(ctx, from, to, d, time.Hour, 10)
			if err != nil || !found {
				t.Fatalf("Move(%s, %s): got %v, %v, want true, nil", from, to, found, err)
			}
			got, found, err := s.Load(ctx, to, 0)
			if err != nil || !found || len(got) != 2 || string(got["user"]) != "42" || string(got["role"]) != "admin" {
				t.Errorf("Load(%s) after Move: got %q, %v, %v, want user=42 and role=admin", to, got, found, err)
			}
			if pttl, err := c.PTTL(ctx, s.key(to)).Result(); err != nil || pttl <= 59*time.Minute || pttl > time.Hour {
				t.Errorf("PTTL %s: got %v, %v, want about 1h", s.key(to), pttl, err)
			}
			if n, err := c.Exists(ctx, s.key(from)).Result(); err != nil || n != 0 {
				t.Errorf("EXISTS %s after Move: got %v, %v, want 0, nil", s.key(from), n, err)
			}
		}
		if n := countMasters(t, c); len(masters) != n {
			t.Errorf("masters the moves ran on: got %v, want all %d", masters, n)
		}
	})

	t.Run("200 concurrent Applies from 200 clients add and take exactly once", func(t *testing.T) {
		testApplyFromManyClients(t, func(t *testing.T) redis.UniversalClient {
			client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Options().Addrs, ContextTimeoutEnabled: true, PoolSize: 1})
			t.Cleanup(func() { _ = client.Close() })
			return client
		}, 200)
	})

	t.Run("with the index, the traffic of many sessions spreads over every master", func(t *testing.T) {
		testIndexedSpread(t, redistest.ClusterClient(t))
	})

	t.Run("move to an ID with another first character is refused with ErrCrossShard and changes nothing", func(t *testing.T) {
		s := New(c, Config{Prefix: redistest.Prefix(t)})
		from := "A" + newID()[1:]
		to := "B" + from[1:] // the shards of A and B are in different slots
		if err := s.Create(ctx, from, map[string][]byte{"user": []byte("42")}, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		found, err := s.Move(ctx, from, to, store.Delta{}, time.Hour, 0)
		if !errors.Is(err, ErrCrossShard) || found {
			t.Errorf("Move: got %v, %v, want false, %v", found, err, ErrCrossShard)
		}
		if n, err := c.Exists(ctx, s.key(from)).Result(); err != nil || n != 1 {
			t.Errorf("EXISTS %s after a refused Move: got %v, %v, want 1, nil", s.key(from), n, err)
		}
		if n, err := c.Exists(ctx, s.key(to)).Result(); err != nil || n != 0 {
			t.Errorf("EXISTS %s after a refused Move: got %v, %v, want 0, nil", s.key(to), n, err)
		}
	})
}

// base64URL is the alphabet of session IDs: the first character of an ID,
// and so its shard, is one of these 64.
const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// renewedID returns a new random ID with the first character of id, as the
// middleware draws one to renew a session.
func renewedID(id string) string {
	return id[:1] + newID()[1:]
}

// masterAddr returns the address of the master that serves key's slot.
func masterAddr(t *testing.T, c *redis.ClusterClient, key string) string {
	t.Helper()
	master, err := c.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatalf("MasterForKey(%q): got error %v, want nil", key, err)
	}
	return master.Options().Addr
}

// countMasters returns the number of masters of c.
func countMasters(t *testing.T, c *redis.ClusterClient) int {
	t.Helper()
	var n atomic.Int32 // ForEachMaster visits the masters concurrently
	if err := c.ForEachMaster(t.Context(), func(context.Context, *redis.Client) error {
		n.Add(1)
		return nil
	}); err != nil {
		t.Fatalf("ForEachMaster: got error %v, want nil", err)
	}
	return int(n.Load())
}

// TestSentinel runs on a primary managed by Sentinel, reached the way
// production reaches it: through the Sentinel (see redistest.SentinelClient).
func TestSentinel(t *testing.T) {
	c := redistest.SentinelClient(t)
	t.Run("the conformance suite passes", func(t *testing.T) {
		conformance(t, c)
	})
	t.Run("the conformance suite passes with the index", func(t *testing.T) {
		conformanceIndexed(t, c)
	})
	t.Run("the capabilities work", func(t *testing.T) {
		testCapabilities(t, on(c))
	})
	t.Run("each method costs what it costs on a single server", func(t *testing.T) {
		testRoundTrips(t, c, redistest.Prefix(t))
	})
	t.Run("each method with the index costs what it costs on a single server", func(t *testing.T) {
		testIndexedRoundTrips(t, c, redistest.Prefix(t))
	})
}

// newID returns a random session ID shaped like the real ones: 16 random
// bytes, base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// testIndexedSpread runs the life of many sessions on indexed stores of a
// Cluster (logins, reads, writes, touches, renewals, logouts, a limit,
// counts, expiries reaped) and checks that every master carries a share of
// the round trips and of the commands Redis runs: the shards spread the
// sessions and their index, and the keys with slots of their own (@live,
// the users' sets) take creations and ends only. c must be a client of its
// own: the test hooks a counter into each of its nodes.
func testIndexedSpread(t *testing.T, c *redis.ClusterClient) {
	ctx := t.Context()
	var mu sync.Mutex // protects counters
	counters := map[string]*redistest.Counter{}
	hook := func(node *redis.Client) {
		mu.Lock()
		defer mu.Unlock()
		addr := node.Options().Addr
		if counters[addr] == nil {
			counters[addr] = &redistest.Counter{}
			node.AddHook(counters[addr])
		}
	}
	c.OnNewNode(hook)
	if err := c.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error { hook(node); return nil }); err != nil {
		t.Fatalf("ForEachShard: got error %v, want nil", err)
	}
	calls := func() map[string]int64 { return commandCalls(t, c) }
	before := calls()

	clock := fakeclock.New()
	prefix := redistest.Prefix(t)
	s := New(c, Config{Prefix: prefix, Index: true, Now: clock.Now})
	const sessions, users = 600, 40
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = newID()
		if ok, err := s.Reserve(ctx, ids[i], 10*sessions); err != nil || !ok {
			t.Fatalf("Reserve: got %v, %v, want true, nil", ok, err)
		}
		if err := s.Create(ctx, ids[i], map[string][]byte{"cart": []byte("1")}, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
	}
	for round := range 3 {
		for i, id := range ids {
			if _, _, err := s.Load(ctx, id, time.Hour); err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if _, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"n": []byte(strconv.Itoa(round))}}, time.Hour, 0); err != nil {
				t.Fatalf("Update: got error %v, want nil", err)
			}
			if _, err := s.Touch(ctx, id, time.Hour); err != nil {
				t.Fatalf("Touch: got error %v, want nil", err)
			}
			if round == 0 && i%3 == 0 { // a login
				to := renewedID(id)
				if _, err := s.Reserve(ctx, to, 0); err != nil {
					t.Fatalf("Reserve: got error %v, want nil", err)
				}
				d := store.Delta{Set: map[string][]byte{store.UserKey: []byte("user" + strconv.Itoa(i%users))}}
				if _, err := s.Move(ctx, id, to, d, time.Hour, 0); err != nil {
					t.Fatalf("Move: got error %v, want nil", err)
				}
				ids[i] = to
			}
		}
	}
	for i := range users {
		if _, err := s.UserSessions(ctx, "user"+strconv.Itoa(i)); err != nil {
			t.Fatalf("UserSessions: got error %v, want nil", err)
		}
	}
	for _, id := range ids[:sessions/4] { // logouts
		if _, err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != sessions-sessions/4 {
		t.Errorf("Count: got %v, %v, want %d", n, err, sessions-sessions/4)
	}
	clock.Advance(2 * time.Hour)
	for {
		recs, err := s.ClaimExpired(ctx, 100, time.Minute)
		if err != nil {
			t.Fatalf("ClaimExpired: got error %v, want nil", err)
		}
		if len(recs) == 0 {
			break
		}
		if err := s.Reap(ctx, recordIDs(recs)...); err != nil {
			t.Fatalf("Reap: got error %v, want nil", err)
		}
	}

	after := calls()
	mu.Lock()
	defer mu.Unlock()
	var total, totalCalls int64
	for _, counter := range counters {
		total += counter.RoundTrips()
	}
	for addr := range after {
		totalCalls += after[addr] - before[addr]
	}
	masters := countMasters(t, c)
	for addr, counter := range counters {
		n, ran := counter.RoundTrips(), after[addr]-before[addr]
		t.Logf("master %s: %d round trips (%.0f%%), %d commands run by Redis (%.0f%%)",
			addr, n, 100*float64(n)/float64(total), ran, 100*float64(ran)/float64(totalCalls))
		// The 64 shards of an application fall 16 to 24 to a master of a
		// private Cluster; @live and the users' sets add a little. A
		// master below a fifth of an even share, or above twice it,
		// would be a hot spot.
		even := float64(total) / float64(masters)
		if float64(n) < even/5 || float64(n) > 2*even {
			t.Errorf("round trips to master %s: got %d of %d, want about %.0f", addr, n, total, even)
		}
		evenCalls := float64(totalCalls) / float64(masters)
		if float64(ran) < evenCalls/5 || float64(ran) > 2*evenCalls {
			t.Errorf("commands run by master %s: got %d of %d, want about %.0f", addr, ran, totalCalls, evenCalls)
		}
	}
	if len(counters) != masters {
		t.Errorf("masters reached: got %d, want all %d", len(counters), masters)
	}
}

// commandCalls returns, for each master of c, how many commands it has run
// since it started, scripts' commands included (INFO commandstats).
func commandCalls(t *testing.T, c *redis.ClusterClient) map[string]int64 {
	t.Helper()
	var mu sync.Mutex // protects calls
	calls := map[string]int64{}
	err := c.ForEachMaster(t.Context(), func(ctx context.Context, master *redis.Client) error {
		info, err := master.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		var n int64
		for line := range strings.SplitSeq(info, "\n") {
			// cmdstat_hset:calls=12,usec=...
			_, rest, ok := strings.Cut(line, ":calls=")
			if !ok {
				continue
			}
			v, _, _ := strings.Cut(rest, ",")
			k, _ := strconv.ParseInt(v, 10, 64)
			n += k
		}
		mu.Lock()
		calls[master.Options().Addr] = n
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("INFO commandstats on every master: got error %v, want nil", err)
	}
	return calls
}
