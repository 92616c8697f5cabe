package session_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
)

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
	runBudget(t, e, roundTripCounter(counter))
}

func TestRoundTripBudgetRedis(t *testing.T) {
	e, counter := redisEnv(t, redistest.Client(t), session.Config{TouchInterval: time.Minute})
	warmScripts(t, e)
	runBudget(t, e, roundTripCounter(counter))
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

func TestConcurrentWritesRedis(t *testing.T) {
	e, _ := redisEnv(t, redistest.Client(t), session.Config{MaxKeys: 1000})
	testConcurrentWrites(t, e)
}

func TestConcurrentWritesMiniredis(t *testing.T) {
	e, _ := redisEnv(t, miniredisClient(t), session.Config{MaxKeys: 1000})
	testConcurrentWrites(t, e)
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
