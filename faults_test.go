package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/redisstore"
)

// faultStoreTimeout is the StoreTimeout of the managers the fault tests
// run: short, so that a fault costs the test little time, and far above
// what a command takes on an idle loopback Redis.
const faultStoreTimeout = 300 * time.Millisecond

// faultBound is the longest a request may take while the store is down:
// one StoreTimeout (a request makes one store call before it fails) plus
// 4.7 s of margin, for CI: the race detector on two cores shared with
// other tests has stalled a request by 2.5 s. A request that hung would
// take the client's minute. The tighter bound on each store call
// alone is redisstore's TestDeadline (2 s for a 300 ms deadline).
const faultBound = faultStoreTimeout + 4700*time.Millisecond

// faultManager returns a manager on a redisstore over c, with the key
// prefix prefix, as an application would build it, with faultStoreTimeout.
func faultManager(t *testing.T, c redis.UniversalClient, prefix string) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{
		Store:        redisstore.New(c, redisstore.Config{Prefix: prefix}),
		Keys:         []session.Key{testKey},
		StoreTimeout: faultStoreTimeout,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestRedisPausedOutage: a Redis stopped with SIGSTOP accepts connections
// and commands but answers nothing (a slow command, a fork, swapping).
// Requests answer 503 within StoreTimeout, nothing piles up, and after
// SIGCONT every session works again.
func TestRedisPausedOutage(t *testing.T) {
	addr, pause, resume := redistest.PausableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	sessiontest.Outage(t, faultManager(t, c, redistest.Prefix(t)), sessiontest.Fault{
		Begin: func(*testing.T) { pause() },
		End:   func(*testing.T) { resume() },
		Bound: faultBound,
	})
}

// TestRedisKilledAndRestarted: a Redis killed with SIGKILL and restarted
// on its append-only file (appendfsync always). While it is down requests
// answer 503 at once (the port refuses connections); once it is back the
// client reconnects by itself and every session is there, under its ID,
// with every acknowledged write.
func TestRedisKilledAndRestarted(t *testing.T) {
	addr, kill, restart := redistest.RestartableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	var restartTook time.Duration
	f := sessiontest.Outage(t, faultManager(t, c, redistest.Prefix(t)), sessiontest.Fault{
		Begin: func(*testing.T) { kill() },
		End: func(*testing.T) {
			start := time.Now()
			restart()
			restartTook = time.Since(start)
		},
		Bound: faultBound,
	})
	t.Logf("of the recovery, the server took %v to answer PING; the sessions answered %v later",
		restartTook.Round(time.Millisecond), (f.Recovery - restartTook).Round(time.Millisecond))
}

// TestSentinelFailover: a Sentinel fails the primary over to its replica
// (SENTINEL FAILOVER) while requests come in, after the sessions' writes
// reached the replica (WAIT). Requests during the failover answer 200 or
// 503, never 500, within StoreTimeout; once the client follows the switch
// every session is there on the new primary. Replication is asynchronous:
// a write acknowledged by the old primary after the replica was promoted,
// and before the client heard of it, is lost; that is Redis's, and WAIT is
// the application's tool against it.
func TestSentinelFailover(t *testing.T) {
	c, failover, switched := redistest.ReplicatedSentinel(t)
	oldPort := primaryPort(t, c)
	var triggered time.Time
	sessiontest.Outage(t, faultManager(t, c, redistest.Prefix(t)), sessiontest.Fault{
		Begin: func(t *testing.T) {
			if n, err := c.Do(t.Context(), "WAIT", 1, 5000).Int(); err != nil || n != 1 {
				t.Fatalf("WAIT 1: got %d, %v, want the replica to have every write", n, err)
			}
			triggered = time.Now()
			failover()
		},
		End: func(t *testing.T) {
			switched()
			t.Logf("the Sentinel switched %v after SENTINEL FAILOVER", time.Since(triggered).Round(time.Millisecond))
			// Reads before the client follows would still reach the old
			// primary, and prove nothing about the new one.
			waitFor(t, 30*time.Second, "the client writes to the new primary", func() bool {
				port := primaryPort(t, c)
				return port != "" && port != oldPort
			})
		},
		MaySucceed: true,
		Bound:      faultBound,
	})
}

// primaryPort returns the port of the server c sends commands to, or "" when
// it cannot tell.
func primaryPort(t *testing.T, c redis.UniversalClient) string {
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	cfg, err := c.ConfigGet(ctx, "port").Result()
	if err != nil {
		return ""
	}
	return cfg["port"]
}

// waitFor polls cond every 10 ms until it holds, and fails the test if d
// passes first; what says what the test waited for.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		<-tick.C
	}
}

// TestClusterNodeDown: one master of a Cluster without replicas is killed.
// A session on a surviving master keeps working, reads and writes; a
// session on the dead one answers 503 within StoreTimeout, keeps its
// token (no fresh session handed out in its place) and shows nothing of
// anyone else's. The Cluster runs with cluster-require-full-coverage no
// (see redistest.BreakableCluster): with the default every master stops
// answering once it learns of the dead one, and every session answers 503.
func TestClusterNodeDown(t *testing.T) {
	c, kill := redistest.BreakableCluster(t)
	prefix := redistest.Prefix(t)
	e := newEnv(t, session.Config{
		Store:        redisstore.New(c, redisstore.Config{Prefix: prefix}),
		StoreTimeout: faultStoreTimeout,
	})
	const sessions = 24 // enough that every master holds some
	clients := make([]*client, sessions)
	master := make([]string, sessions)
	for i := range clients {
		clients[i] = e.client()
		clients[i].get(fmt.Sprintf("/set?k=v&v=%d", i))
		id := tokenID(t, e, clients[i].token)
		m, err := c.MasterForKey(t.Context(), prefix+":default:{default:"+id[:1]+"}:"+id)
		if err != nil {
			t.Fatalf("MasterForKey: got error %v, want nil", err)
		}
		master[i] = m.Options().Addr
	}
	victim := master[0]
	kill(victim)

	var worst time.Duration
	survivors := 0
	for i, cl := range clients {
		token := cl.token
		for _, path := range []string{"/get?k=v", fmt.Sprintf(`/set?k=w&v=%d`, i)} {
			r := httptest.NewRequest(http.MethodPost, path, nil)
			r.Header.Set("Accept", "application/json")
			r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: token})
			w := httptest.NewRecorder()
			start := time.Now()
			e.h.ServeHTTP(w, r)
			took := time.Since(start)
			worst = max(worst, took)
			if took > faultBound {
				t.Errorf("session %d: %s took %v, want at most %v", i, path, took, faultBound)
			}
			body := strings.TrimSpace(w.Body.String())
			switch {
			case master[i] == victim:
				if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, "session_store_unavailable") {
					t.Errorf("session %d, on the dead master: %s got %d %q, want 503 session_store_unavailable", i, path, w.Code, body)
				}
				if ck := cookieOf(w, e.m.CookieName()); ck != nil {
					t.Errorf("session %d, on the dead master: %s set the cookie %q, want the client to keep its token", i, path, ck)
				}
			case path == "/get?k=v" && (w.Code != http.StatusOK || body != fmt.Sprint(i)):
				t.Errorf("session %d, on a live master: %s got %d %q, want 200 %d", i, path, w.Code, body, i)
			case path != "/get?k=v" && w.Code != http.StatusOK:
				t.Errorf("session %d, on a live master: %s got %d %q, want 200", i, path, w.Code, body)
			}
		}
		if master[i] != victim {
			survivors++
			if got := cl.get("/get?k=w"); got != fmt.Sprint(i) {
				t.Errorf("session %d, on a live master: the write during the outage reads back %q, want %d", i, got, i)
			}
		}
	}
	if survivors == 0 || survivors == sessions {
		t.Fatalf("%d of %d sessions on live masters, want some on each side", survivors, sessions)
	}
	t.Logf("%d sessions on live masters kept working, %d on the dead one answered 503; worst latency %v",
		survivors, sessions-survivors, worst.Round(time.Millisecond))
}

// TestServerStoppedRedis: two application servers on one Redis, each with
// a client of its own; one stops halfway through a load and the other
// serves every session with every acknowledged write
// (sessiontest.ServerStopped).
func TestServerStoppedRedis(t *testing.T) {
	shared, ok := redistest.Client(t).(*redis.Client)
	if !ok {
		t.Fatalf("redistest.Client: got a %T, want a *redis.Client", shared)
	}
	prefix := redistest.Prefix(t)
	sessiontest.ServerStopped(t, func(t *testing.T) *session.Manager {
		opt := *shared.Options()
		c := redis.NewClient(&opt)
		t.Cleanup(func() { _ = c.Close() })
		return faultManager(t, c, prefix)
	})
}
