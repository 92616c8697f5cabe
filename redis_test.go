package session_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/internal/sessiontest"
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
		runBudget(t, e, budget, roundTripCounter(counter))
	})
	t.Run("races", func(t *testing.T) { testRaces(t, redisManager(client)) })
	t.Run("200 concurrent adds from separate connections count exactly 200", func(t *testing.T) {
		e, _ := countedEnv(t, client(t), session.Config{})
		sessiontest.ConcurrentAdds(t, e.m, 200)
	})
	t.Run("of concurrent takes of a flash, exactly one gets it", func(t *testing.T) {
		e, _ := countedEnv(t, client(t), session.Config{})
		sessiontest.ConcurrentTakes(t, e.m, 5, 20)
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

// warmEveryMaster runs the scripts of st (Create's, Update's and Move's) on every
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
		if _, _, err := st.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}}, time.Minute, 0); err != nil {
			t.Fatalf("Apply: got error %v, want nil", err)
		}
		if _, err := st.Move(ctx, id, id+"-moved", store.Delta{}, time.Minute, 0); err != nil {
			t.Fatalf("Move: got error %v, want nil", err)
		}
		warmed[master] = true
	}
}

// redisEnv is an env on redisstore over client, with the client's round
// trips counted.
func redisEnv(t *testing.T, client redis.UniversalClient, cfg session.Config) (*env, *redistest.Counter) {
	t.Helper()
	counter := &redistest.Counter{}
	client.AddHook(counter)
	cfg.Store = redisstore.New(client, redisstore.Config{Prefix: redistest.Prefix(t)})
	return newEnv(t, cfg), counter
}

func miniredisClient(t *testing.T) redis.UniversalClient {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// warmScripts runs every script once so the budget sees steady state, where
// each is one EVALSHA.
func warmScripts(t *testing.T, e *env) {
	c := e.client()
	c.get("/set?k=warm&v=1")
	c.get("/set?k=warm2&v=1")
	c.get("/set?k=warm&v=2")
	c.get("/add?k=n&n=1")
	c.get("/renew")
}

func roundTripCounter(c *redistest.Counter) func() int64 {
	return func() int64 {
		n := c.RoundTrips()
		c.Reset()
		return n
	}
}

func TestRoundTripBudgetMiniredis(t *testing.T) {
	e, counter := redisEnv(t, miniredisClient(t), session.Config{TouchInterval: time.Minute})
	warmScripts(t, e)
	runBudget(t, e, budget, roundTripCounter(counter))
}

func TestRoundTripBudgetRedis(t *testing.T) {
	e, counter := redisEnv(t, redistest.Client(t), session.Config{TouchInterval: time.Minute})
	warmScripts(t, e)
	runBudget(t, e, budget, roundTripCounter(counter))
}

func TestRoundTripCommandsRedis(t *testing.T) {
	e, counter := redisEnv(t, redistest.Client(t), session.Config{TouchInterval: time.Minute})
	warmScripts(t, e)
	c := e.client()
	c.get("/set?k=a&v=1")
	for _, tt := range []struct {
		name, path string
		advance    time.Duration
		want       string
	}{
		{"a read sends one HGETALL", "/get?k=a", 0, "hgetall"},
		{"a read with a touch due pipelines HGETALL and PEXPIRE", "/get?k=a", 2 * time.Minute, "hgetall pexpire"},
		{"a write sends one script", "/set?k=b&v=1", 0, "evalsha"},
		{"an untouched request with a touch due sends one PEXPIRE", "/noop", 2 * time.Minute, "pexpire"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			counter.Reset()
			c.get(tt.path)
			if got := strings.Join(counter.Commands(), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRacesRedis(t *testing.T) {
	testRaces(t, redisManager(func(t *testing.T) redis.UniversalClient { return redistest.Client(t) }))
}

func TestRacesMiniredis(t *testing.T) {
	testRaces(t, redisManager(miniredisClient))
}

// redisManager returns a function that makes a manager on a redisstore, with
// its index (Manager.Destroy needs it), over a client that client returns.
func redisManager(client func(t *testing.T) redis.UniversalClient) func(t *testing.T) *session.Manager {
	return func(t *testing.T) *session.Manager {
		st := redisstore.New(client(t), redisstore.Config{Prefix: redistest.Prefix(t), Index: true})
		return newEnv(t, session.Config{Store: st}).m
	}
}

// TestUndecodableValuesRedis plants bytes the codec cannot read with HSET,
// as redis-cli or an older version of the application would, on miniredis
// and a real Redis.
func TestUndecodableValuesRedis(t *testing.T) {
	for _, b := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"miniredis", miniredisClient},
		{"Redis", func(t *testing.T) redis.UniversalClient { return redistest.Client(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			client := b.client(t)
			prefix := redistest.Prefix(t)
			st := redisstore.New(client, redisstore.Config{Prefix: prefix, Application: "shop"})
			sessiontest.UndecodableValues(t, newEnv(t, session.Config{Store: st}).m, func(t *testing.T, id, key string, raw []byte) {
				if err := client.HSet(t.Context(), prefix+":shop:{shop:"+id[:1]+"}:"+id, key, raw).Err(); err != nil {
					t.Fatalf("HSET: %v", err)
				}
			})
		})
	}
}

// TestAddAndTakeRedis holds Session.Add and Session.Take to their promises
// on miniredis and on a real Redis, plain and with the store's index (its
// scripts differ); Cluster and Sentinel run them in testDeployment.
func TestAddAndTakeRedis(t *testing.T) {
	for _, b := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"miniredis", miniredisClient},
		{"Redis", func(t *testing.T) redis.UniversalClient { return redistest.Client(t) }},
	} {
		for _, index := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, Index %v", b.name, index), func(t *testing.T) {
				newManager := func() *session.Manager {
					st := redisstore.New(b.client(t), redisstore.Config{Prefix: redistest.Prefix(t), Index: index})
					return newEnv(t, session.Config{Store: st}).m
				}
				sessiontest.ConcurrentAdds(t, newManager(), 200)
				sessiontest.ConcurrentTakes(t, newManager(), 5, 20)
				sessiontest.FlashAcrossRedirect(t, newManager())
			})
		}
	}
}

func TestRedisSessionReadableWithRedisCLI(t *testing.T) {
	client := redistest.Client(t)
	prefix := redistest.Prefix(t)
	st := redisstore.New(client, redisstore.Config{Prefix: prefix, Application: "shop"})
	e := newEnv(t, session.Config{Store: st})
	c := e.client()
	c.get(`/set?k=user&v="ann"`)
	id := tokenID(t, e, c.token)
	key := prefix + ":shop:{shop:" + id[:1] + "}:" + id
	got, err := client.HGet(context.Background(), key, "user").Result()
	if err != nil || got != `"ann"` {
		t.Fatalf("HGET %s user: got %q %v, want the JSON \"ann\"", key, got, err)
	}
	ttl, err := client.PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 19*time.Minute || ttl > 20*time.Minute {
		t.Fatalf("PTTL got %v %v, want about 20 minutes", ttl, err)
	}
}

func TestRedisWriteDoesNotResurrect(t *testing.T) {
	rc := redistest.Client(t)
	prefix := redistest.Prefix(t)
	e := newEnv(t, session.Config{Store: redisstore.New(rc, redisstore.Config{Prefix: prefix})})
	c := e.client()
	c.get("/set?k=a&v=1")
	old := c.token
	oldID := tokenID(t, e, old)
	oldKey := prefix + ":default:{default:" + oldID[:1] + "}:" + oldID

	// Logged out elsewhere (another tab, an admin): the key is gone.
	if w := (&client{e: e, token: old}).do(http.MethodPost, "/close"); w.Code != http.StatusNoContent {
		t.Fatalf("close got %d", w.Code)
	}
	w := c.do(http.MethodGet, "/set?k=b&v=2")
	if w.Code != http.StatusOK || c.token == old || c.token == "" {
		t.Fatalf("got %d, new token %v", w.Code, c.token != old)
	}
	if n, err := rc.Exists(context.Background(), oldKey).Result(); n != 0 || err != nil {
		t.Fatalf("EXISTS %s got %d %v: the destroyed session came back", oldKey, n, err)
	}
	if got := c.get("/keys"); got != "b" {
		t.Fatalf("the fresh session holds %q, want only the write that came with the dead token", got)
	}
}

func TestRedisDownAnswers503(t *testing.T) {
	// A "Redis" that accepts connections and drops them at once: the port
	// stays ours, so no other process can answer in its place.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	addr := ln.Addr().String()
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true})
	defer rc.Close()
	e := newEnv(t, session.Config{Store: redisstore.New(rc, redisstore.Config{})})
	for _, path := range []string{"/set?k=a&v=1", "/incr"} {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Header.Set("Accept", "application/json")
		w := httptest.NewRecorder()
		if path == "/incr" {
			r.Header.Set(session.HeaderID, validTokenFor(t, e))
		}
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"error":"session_store_unavailable"`) {
			t.Fatalf("%s: got %d %s, want 503 JSON", path, w.Code, w.Body)
		}
	}
}

// validTokenFor returns a token the env's manager signed, for a session the
// store does not have to hold.
func validTokenFor(t *testing.T, e *env) string {
	t.Helper()
	other := newEnv(t, session.Config{Now: e.clock.Now})
	c := other.headerClient()
	c.get("/set?k=a&v=1")
	return c.token
}

// TestRenewTimingOutOnAPausedRedisKeepsTheClientsSession: a login during a
// Redis stall. The Move times out at StoreTimeout and the client gets the
// ErrorHandler's 503, with no new token, so it keeps its old one; but the
// script was already sent, and Redis runs it when it resumes: the session
// moves to an ID nobody holds. TestRenewFailureKeepsTheOldSession asserts
// the same promise against a store whose Move fails before writing; a real
// Redis cannot say which way a timed-out call went.
func TestRenewTimingOutOnAPausedRedisKeepsTheClientsSession(t *testing.T) {
	addr, pause, resume := redistest.PausableServer(t)
	rc := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer rc.Close()
	e := newEnv(t, session.Config{Store: redisstore.New(rc, redisstore.Config{}), StoreTimeout: 200 * time.Millisecond})
	warmScripts(t, e)
	c := e.client()
	c.get("/set?k=cart&v=3")
	pause()
	w := c.do(http.MethodPost, "/renew")
	resume()
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("the login on a paused Redis got %d, want 503", w.Code)
	}
	if got := c.get("/get?k=cart"); got != "3" {
		t.Fatalf("after the login answered 503 the client's session holds cart=%q, want 3: its session moved to an ID it never got", got)
	}
}

// TestRoundTripBudgetRedisFarm holds the README's round-trip table for
// redisstore with Index, the farm features on (farmConfig): the store calls
// are farmBudget's, as on memstore, and each costs the round trips below. A
// read, write or touch of an existing session stays one; a Delete is two
// (the script, then @live and the user's set), a Move three when it logs a
// user in (the user's set first).
func TestRoundTripBudgetRedisFarm(t *testing.T) {
	want := map[string]int64{
		"no token, session untouched: 0":            0,
		"token, session untouched, no touch due: 0": 0,
		"token, session untouched, touch due: 1":    1,
		"read only: 1":                              1,
		"write only: 1":                             1,
		"new session with data: counted toward MaxSessions, then created":              2,
		"destroy: the session, then the event to the farm":                             2 + 1,
		"renew: the new ID counted, then the move":                                     1 + 2,
		"login: the user's sessions for MaxUserSessions, the new ID counted, the move": 1 + 1 + 3,
		"write with a dead token: the refused update, then a new session":              1 + 1 + 1,
		"add: 1":  1,
		"take: 1": 1,
	}
	for _, b := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"on miniredis", miniredisClient},
		{"on a real Redis", func(t *testing.T) redis.UniversalClient { return redistest.Client(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			client := b.client(t)
			newFarm := func() *env {
				cfg := farmConfig
				cfg.Store = redisstore.New(client, redisstore.Config{Prefix: redistest.Prefix(t), Index: true})
				return newEnv(t, cfg)
			}
			// A first run loads every script into the server's cache; the
			// counted one starts from an empty store of its own.
			t.Run("scripts into the cache", func(t *testing.T) {
				runBudget(t, newFarm(), farmBudget, nil)
			})
			counter := &redistest.Counter{}
			client.AddHook(counter)
			runBudget(t, newFarm(), farmBudget, roundTripCounter(counter), want)
		})
	}
}
