package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// A farm is several application servers, each with a Manager and a Redis
// client of its own, on one Redis (or Cluster): what issue 9 calls one
// manager across servers.
type farm struct {
	t         *testing.T
	clock     *fakeclock.Clock
	prefix    string
	newClient func(t *testing.T) redis.UniversalClient
	servers   []*farmServer

	mu    sync.Mutex     // protects fired and crash
	fired map[string]int // OnExpired calls that returned nil, by session ID
	crash string         // a session whose first OnExpired panics, as a crash mid-hook would
	tries map[string]int // OnExpired calls, by session ID
}

type farmServer struct {
	m      *session.Manager
	h      http.Handler
	client redis.UniversalClient
	events chan session.Event
	cancel func()
}

func newFarm(t *testing.T, servers int, newClient func(t *testing.T) redis.UniversalClient) *farm {
	f := &farm{t: t, clock: fakeclock.New(), newClient: newClient, fired: map[string]int{}, tries: map[string]int{}}
	f.prefix = redistest.Prefix(t)
	for range servers {
		f.servers = append(f.servers, f.start())
	}
	t.Cleanup(func() {
		for _, s := range f.servers {
			if s != nil {
				f.stop(s)
			}
		}
	})
	return f
}

// start starts one server of the farm.
func (f *farm) start() *farmServer {
	t := f.t
	c := f.newClient(t)
	st := redisstore.New(c, redisstore.Config{Prefix: f.prefix, Application: "farm", Index: true, Now: f.clock.Now})
	m, err := session.New(session.Config{
		Store:         st,
		Keys:          []session.Key{testKey},
		Now:           f.clock.Now,
		IdleTimeout:   20 * time.Minute,
		ReapInterval:  -1, // the test reaps when it chooses
		ReapLease:     time.Minute,
		PublishEvents: true,
		OnExpired:     f.onExpired,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &farmServer{m: m, h: m.Handler(testRoutes(m)), client: c, events: make(chan session.Event, 1000)}
	if s.cancel, err = m.Subscribe(func(e session.Event) { s.events <- e }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return s
}

// stop stops a server: its subscription, its reaper and its connections.
func (f *farm) stop(s *farmServer) {
	s.cancel()
	s.m.Close()
	s.client.Close()
}

func (f *farm) onExpired(ctx context.Context, e session.Expiry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries[e.ID]++
	if e.ID == f.crash && f.tries[e.ID] == 1 {
		panic("the server crashed in the middle of the hook")
	}
	f.fired[e.ID]++
	return nil
}

// rrClient is a browser behind a round-robin load balancer: each request
// goes to the next server.
type rrClient struct {
	f     *farm
	n     int
	token string
}

func (c *rrClient) do(method, target string) *httptest.ResponseRecorder {
	s := c.f.servers[c.n%len(c.f.servers)]
	c.n++
	ec := &client{e: &env{t: c.f.t, m: s.m, h: s.h}, token: c.token}
	w := ec.do(method, target)
	c.token = ec.token
	return w
}

func (c *rrClient) get(target string) string {
	return strings.TrimSpace(c.do(http.MethodGet, target).Body.String())
}

func testFarmOf(t *testing.T, newClient func(t *testing.T) redis.UniversalClient) {
	f := newFarm(t, 3, newClient)

	t.Run("a session moves freely between servers", func(t *testing.T) {
		c := &rrClient{f: f}
		c.get("/login?u=ann")
		for range 6 {
			c.get("/incr")
		}
		if got := c.get("/get?k=n"); got != "6" {
			t.Fatalf("after 6 increments on 3 servers got n=%s, want 6", got)
		}
		if got := c.get("/user"); got != "ann" {
			t.Fatalf("user: got %q, want ann", got)
		}
	})

	t.Run("a destroy on one server is seen by the others at once, and heard by all", func(t *testing.T) {
		for _, s := range f.servers {
			drain(s.events)
		}
		c := &rrClient{f: f}
		c.get("/login?u=bob")
		token := c.token
		c.do(http.MethodPost, "/close")
		for i := range f.servers {
			other := &rrClient{f: f, n: i, token: token}
			if w := other.do(http.MethodGet, "/required"); w.Code != http.StatusUnauthorized || !contains(w.Body.String(), "session_expired") {
				t.Fatalf("server %d answered %d %s, want 401 session_expired", i, w.Code, w.Body)
			}
		}
		for i, s := range f.servers {
			if e := waitEvent(t, s.events); e.Kind != session.EventDestroyed || e.User != "bob" {
				t.Fatalf("server %d heard %+v, want bob's destroy", i, e)
			}
		}
	})

	t.Run("counts agree", func(t *testing.T) {
		for range 5 {
			(&rrClient{f: f}).get("/set?k=a&v=1")
		}
		var counts []int
		for _, s := range f.servers {
			n, err := s.m.Count(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			counts = append(counts, n)
		}
		if counts[0] != counts[1] || counts[1] != counts[2] || counts[0] < 6 {
			t.Fatalf("the servers count %v, want the same, at least 6", counts)
		}
	})

	t.Run("each expiry fires exactly once across the farm, with a server stopped and restarted meanwhile", func(t *testing.T) {
		const sessions = 60
		var ids []string
		for i := range sessions {
			c := &rrClient{f: f, n: i}
			c.get("/set?k=a&v=1")
			ids = append(ids, tokenID(t, &env{t: t, m: f.servers[0].m}, c.token))
		}
		f.mu.Lock()
		f.crash = ids[7]
		f.mu.Unlock()
		f.clock.Advance(21 * time.Minute)

		f.stop(f.servers[2])
		f.servers[2] = nil
		reapAll := func(servers ...*farmServer) {
			var wg sync.WaitGroup
			for _, s := range servers {
				wg.Go(func() {
					if _, err := s.m.Reap(t.Context()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		func() {
			defer func() { _ = recover() }() // the injected crash
			reapAll(f.servers[0], f.servers[1])
		}()
		f.servers[2] = f.start() // restarted: it reaps too
		reapAll(f.servers...)
		f.clock.Advance(2 * time.Minute) // the crashed claim's lease runs out
		reapAll(f.servers...)
		reapAll(f.servers...)

		f.mu.Lock()
		defer f.mu.Unlock()
		for _, id := range ids {
			if f.fired[id] != 1 {
				t.Errorf("session %.4s… fired %d times, want once", id, f.fired[id])
			}
		}
		if f.tries[f.crash] != 2 {
			t.Errorf("the session whose hook crashed was handed out %d times, want twice: once more after the crash", f.tries[f.crash])
		}
	})
}

func drain(c chan session.Event) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func waitEvent(t *testing.T, c chan session.Event) session.Event {
	t.Helper()
	select {
	case e := <-c:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return session.Event{}
	}
}

// TestFarmRedis runs three servers on one Redis, each with connections of
// its own.
func TestFarmRedis(t *testing.T) {
	base := *redistest.Client(t).(*redis.Client).Options()
	testFarmOf(t, func(t *testing.T) redis.UniversalClient {
		opt := base
		return redis.NewClient(&opt)
	})
}

// TestFarmCluster runs three servers on the private three-master Cluster.
func TestFarmCluster(t *testing.T) {
	base := *redistest.ClusterClient(t).Options()
	testFarmOf(t, func(t *testing.T) redis.UniversalClient {
		opt := base
		return redis.NewClusterClient(&opt)
	})
}

// testIsolation runs two applications on one backend, with the same signing
// keys: neither sees, counts, lists, destroys, limits or hears about the
// other's sessions, even with a token copied from one to the other.
func testIsolation(t *testing.T, newStore func(t *testing.T, app string, clock *fakeclock.Clock) store.Store) {
	clock := fakeclock.New()
	var expiredA, expiredB expiries
	a := newEnv(t, session.Config{Store: newStore(t, "a", clock), Now: clock.Now, PublishEvents: true, OnExpired: expiredA.hook, MaxSessions: 1})
	b := newEnv(t, session.Config{Store: newStore(t, "b", clock), Now: clock.Now, PublishEvents: true, OnExpired: expiredB.hook, MaxSessions: 1})
	heardB := make(chan session.Event, 10)
	cancel, err := b.m.Subscribe(func(e session.Event) { heardB <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	ca := a.client()
	ca.get("/login?u=ann")
	copied := &client{e: b, token: ca.token}
	if got := copied.get("/user"); got != "" {
		t.Fatalf("application b read user %q from a's token", got)
	}
	if w := copied.do(http.MethodGet, "/required"); w.Code != http.StatusUnauthorized {
		t.Fatalf("application b let a's token through Require: %d", w.Code)
	}
	if n, _ := b.m.Count(t.Context()); n != 0 {
		t.Fatalf("application b counts %d sessions, want 0", n)
	}
	for info, err := range b.m.Sessions(t.Context()) {
		t.Fatalf("application b lists %+v, %v", info, err)
	}
	if list, _ := b.m.UserSessions(t.Context(), "ann"); len(list) != 0 {
		t.Fatalf("application b lists ann's sessions: %+v", list)
	}
	var handle string
	ca.serve(func(w http.ResponseWriter, r *http.Request) { handle = session.FromContext(r.Context()).Handle() })
	if found, _ := b.m.Destroy(t.Context(), handle); found {
		t.Fatal("application b destroyed a's session")
	}
	if got := ca.get("/user"); got != "ann" {
		t.Fatalf("a's session after b's attempts: got user %q, want ann", got)
	}
	if w := b.client().do(http.MethodPost, "/set?k=a&v=1"); w.Code != http.StatusOK {
		t.Fatalf("b's first session, under its own MaxSessions: got %d, want 200", w.Code)
	}
	ca.do(http.MethodPost, "/close")
	clock.Advance(time.Hour)
	if _, err := b.m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := expiredA.take(); len(got) != 0 {
		t.Fatalf("a's OnExpired got %d expiries, want none: its only session was destroyed", len(got))
	}
	if got := expiredB.take(); len(got) != 1 {
		t.Fatalf("b's OnExpired got %d expiries, want its own one", len(got))
	}
	for {
		select {
		case e := <-heardB:
			if e.Kind == session.EventDestroyed {
				t.Fatalf("application b heard a's destroy: %+v", e)
			}
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

func TestIsolationRedis(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	testIsolation(t, func(t *testing.T, app string, clock *fakeclock.Clock) store.Store {
		return redisstore.New(c, redisstore.Config{Prefix: prefix, Application: app, Index: true, Now: clock.Now})
	})
}
