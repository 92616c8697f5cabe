package session_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// TestCluster holds one Redis Cluster for its subtests: a private Cluster
// takes seconds to start (see redistest.ClusterClient).
func TestCluster(t *testing.T) {
	redistest.ClusterClient(t)
	testDeployment(t, func(t *testing.T) redis.UniversalClient { return redistest.ClusterClient(t) })
}

// TestSentinel reaches its primary through Sentinel, the way production does.
func TestSentinel(t *testing.T) {
	testDeployment(t, func(t *testing.T) redis.UniversalClient { return redistest.SentinelClient(t) })
}

// testDeployment holds a Redis deployment to what a single server is held to
// in redis_test.go: the same round-trip budget, exactly, and no lost writes.
func testDeployment(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	t.Run("the round-trip budget holds with the counts of a single server", func(t *testing.T) {
		e, counter := countedEnv(t, client(t), session.Config{TouchInterval: time.Minute})
		runBudget(t, e, roundTripCounter(counter))
	})
	t.Run("concurrent writes to one session are all kept", func(t *testing.T) {
		e, _ := countedEnv(t, client(t), session.Config{MaxKeys: 1000})
		testConcurrentWrites(t, e)
	})
}

// countedEnv is redisEnv for any deployment: the round trips are counted
// where they happen, on each node of a Cluster (see
// redistest.Counter.Attach), and the store's scripts are already cached on
// every server, so that the budget sees the steady state.
func countedEnv(t *testing.T, client redis.UniversalClient, cfg session.Config) (*env, *redistest.Counter) {
	t.Helper()
	counter := &redistest.Counter{}
	if err := counter.Attach(t.Context(), client); err != nil {
		t.Fatalf("Attach: got error %v, want nil", err)
	}
	prefix := redistest.Prefix(t)
	st := redisstore.New(client, redisstore.Config{Prefix: prefix})
	warmEveryMaster(t, client, st, prefix)
	cfg.Store = st
	return newEnv(t, cfg), counter
}

// warmEveryMaster runs both scripts of st (Create's and Update's) on every
// master of client. Redis caches a script per server, and the first run on a
// server that lacks it costs a second round trip (EVALSHA answers NOSCRIPT,
// go-redis sends EVAL); on a Cluster, sessions land on every master.
// Sessions are created under IDs chosen until each master has served one;
// their first characters vary, since the first character picks the shard and
// so the slot.
func warmEveryMaster(t *testing.T, client redis.UniversalClient, st *redisstore.Store, prefix string) {
	t.Helper()
	ctx := t.Context()
	masters := 1
	masterOf := func(key string) string { return "" }
	if cc, ok := client.(*redis.ClusterClient); ok {
		var n atomic.Int32 // ForEachMaster visits the masters concurrently
		err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error {
			n.Add(1)
			return nil
		})
		if err != nil {
			t.Fatalf("ForEachMaster: got error %v, want nil", err)
		}
		masters = int(n.Load())
		masterOf = func(key string) string {
			m, err := cc.MasterForKey(ctx, key)
			if err != nil {
				t.Fatalf("MasterForKey(%q): got error %v, want nil", key, err)
			}
			return m.Options().Addr
		}
	}
	warmed := map[string]bool{}
	for i := 0; len(warmed) < masters; i++ {
		if i == 1000 {
			t.Fatalf("warming scripts: reached %d masters of %d in %d sessions", len(warmed), masters, i)
		}
		const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		id := string(base64URL[i%len(base64URL)]) + "warm-" + strconv.Itoa(i)
		master := masterOf(prefix + ":default:{default:" + id[:1] + "}:" + id)
		if warmed[master] {
			continue
		}
		if err := st.Create(ctx, id, map[string][]byte{"a": []byte("1")}, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if _, err := st.Update(ctx, id, store.Delta{Set: map[string][]byte{"a": []byte("2")}}, time.Minute, 0); err != nil {
			t.Fatalf("Update: got error %v, want nil", err)
		}
		warmed[master] = true
	}
}
