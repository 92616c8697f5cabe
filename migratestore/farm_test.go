package migratestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

// testKey signs the tokens of these tests.
var testKey = session.Key{Hash: []byte("migratestore tests: 32 bytes or more")}

// idleTimeout is the farm's: long enough that the jump of the clock to
// MoveFrom (an hour) leaves every session live.
const idleTimeout = 2 * time.Hour

// A farm is a few application servers behind httptest servers, each with a
// Manager on the old store and one on a migratestore.Store of its own, and
// a switch from the first to the second that the test throws mid-load.
type farm struct {
	t        *testing.T
	clock    *fakeclock.Clock
	old, new store.Store
	moveFrom time.Time // the Stores' Config.MoveFrom; zero to move at once
	servers  []*server

	// Every request holds requests for reading; a switch that no
	// request may straddle holds it for writing.
	requests sync.RWMutex
	served   chan struct{} // gets a value after each request, when wanted
	want     atomic.Bool   // served is read

	mu      sync.Mutex     // protects expired
	expired map[string]int // OnExpired calls that returned nil, by ID
}

type server struct {
	handler   atomic.Pointer[http.Handler]
	onOld     http.Handler // a Manager on the old store alone
	migrating http.Handler // a Manager on a migratestore.Store
	m         *session.Manager
	s         *migratestore.Store
	http      *httptest.Server
}

// newFarm starts n servers serving from the old store.
func newFarm(t *testing.T, p pair, n int, moveFrom time.Time) *farm {
	f := &farm{t: t, clock: p.clock, old: p.old, new: p.new, moveFrom: moveFrom, expired: map[string]int{}, served: make(chan struct{})}
	for range n {
		f.servers = append(f.servers, f.start())
	}
	return f
}

func (f *farm) start() *server {
	t := f.t
	srv := &server{s: migratestore.New(f.old, f.new, migratestore.Config{MoveFrom: f.moveFrom, Now: f.clock.Now})}
	srv.onOld = f.manager(f.old).Handler(routes())
	srv.m = f.manager(srv.s)
	srv.migrating = srv.m.Handler(routes())
	srv.handler.Store(&srv.onOld)
	srv.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.RLock()
		defer f.requests.RUnlock()
		(*srv.handler.Load()).ServeHTTP(w, r)
		if f.want.Load() {
			select {
			case f.served <- struct{}{}:
			default:
			}
		}
	}))
	t.Cleanup(srv.http.Close)
	return srv
}

// manager returns a Manager of the farm on st.
func (f *farm) manager(st store.Store) *session.Manager {
	m, err := session.New(session.Config{
		Store:        st,
		Keys:         []session.Key{testKey},
		Now:          f.clock.Now,
		IdleTimeout:  idleTimeout,
		ReapInterval: -1, // the test reaps
		OnExpired: func(ctx context.Context, e session.Expiry) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.expired[e.ID]++
			return nil
		},
		OnError: func(r *http.Request, err error) { f.t.Errorf("OnError: %v", err) },
	})
	if err != nil {
		f.t.Fatalf("session.New: %v", err)
	}
	f.t.Cleanup(func() { m.Close() })
	return m
}

// switchOver puts every server on its migratestore.Store at once. With
// drain, no request straddles the switch (no server of the old store alone
// is serving); without, requests under way on the old store finish there,
// which only a Store that reads through (MoveFrom) may meet.
func (f *farm) switchOver(drain bool) {
	if drain {
		f.requests.Lock()
		defer f.requests.Unlock()
	}
	for _, s := range f.servers {
		s.handler.Store(&s.migrating)
	}
}

// waitRequests waits until n more requests were served.
func (f *farm) waitRequests(n int) {
	f.want.Store(true)
	defer f.want.Store(false)
	for range n {
		select {
		case <-f.served:
		case <-time.After(10 * time.Second):
			f.t.Fatalf("no request served for ten seconds")
		}
	}
}

// startMoving moves the clock to MoveFrom, with no request under way.
func (f *farm) startMoving() {
	f.requests.Lock()
	defer f.requests.Unlock()
	f.clock.Advance(f.moveFrom.Sub(f.clock.Now()))
}

// routes answers /set?k=&v=, /get?k=, /all (every value, as JSON), /id and
// /close.
func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := session.FromContext(r.Context()).Set(q.Get("k"), q.Get("v")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, ok, err := session.Get[string](session.FromContext(r.Context()), r.URL.Query().Get("k"))
		if err != nil {
			return // the middleware answers
		}
		if !ok {
			http.Error(w, "absent", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, v)
	})
	mux.HandleFunc("/all", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		keys, err := s.Keys()
		if err != nil {
			return
		}
		all := make(map[string]any, len(keys))
		for _, k := range keys {
			var v any
			if _, err := s.Get(k, &v); err != nil {
				return
			}
			all[k] = v
		}
		_ = json.NewEncoder(w).Encode(all)
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, session.FromContext(r.Context()).ID())
	})
	mux.Handle("/close", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Destroy()
		w.WriteHeader(http.StatusNoContent)
	}))
	return mux
}

// A client is an API client of the farm that sends its token in the
// Session-Id header, to the servers in turn, from several goroutines at
// once. It remembers what it set, to check it all at the end.
type client struct {
	f *farm

	mu    sync.Mutex // protects the fields below
	token string
	n     int               // requests sent, to pick the server
	set   map[string]string // what it set and expects to find
	lost  []string          // what made it think its session was lost
}

func newClient(f *farm) *client { return &client{f: f, set: map[string]string{}} }

// do sends one request with token (the client's own when "") and returns
// the response's status and body.
func (c *client) do(method, path, token string) (int, string) {
	c.mu.Lock()
	if token == "" {
		token = c.token
	}
	srv := c.f.servers[c.n%len(c.f.servers)]
	c.n++
	c.mu.Unlock()
	req, err := http.NewRequest(method, srv.http.URL+path, nil)
	if err != nil {
		c.f.t.Fatal(err)
	}
	req.Header.Set(session.HeaderID, token)
	resp, err := srv.http.Client().Do(req)
	if err != nil {
		c.f.t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if values, ok := resp.Header[session.HeaderID]; ok {
		c.mu.Lock()
		if values[0] == "" && c.token != "" && token == c.token {
			c.lost = append(c.lost, fmt.Sprintf("%s %s: the server said the token was of no use", method, path))
		} else if values[0] != "" {
			c.token = values[0]
		}
		c.mu.Unlock()
	}
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// setKey sets k to v and remembers it.
func (c *client) setKey(k, v string) {
	if code, body := c.do(http.MethodGet, "/set?k="+url.QueryEscape(k)+"&v="+url.QueryEscape(v), ""); code != http.StatusOK {
		c.f.t.Errorf("set %s: %d %s", k, code, body)
		return
	}
	c.mu.Lock()
	c.set[k] = v
	c.mu.Unlock()
}

// round writes two keys at once from two goroutines, then sets the
// client's counter and reads it back.
func (c *client) round(i int) {
	var wg sync.WaitGroup
	for _, g := range []string{"a", "b"} {
		wg.Go(func() { c.setKey(fmt.Sprint(g, i), fmt.Sprint(i)) })
	}
	wg.Wait()
	c.setKey("n", fmt.Sprint(i))
	if code, body := c.do(http.MethodGet, "/get?k=n", ""); body != fmt.Sprint(i) {
		c.mu.Lock()
		c.lost = append(c.lost, fmt.Sprintf("round %d: read the counter back as %d %q", i, code, body))
		c.mu.Unlock()
	}
}

// current returns the client's token.
func (c *client) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// id returns the client's session ID.
func (c *client) id() string {
	_, id := c.do(http.MethodGet, "/id", "")
	return id
}

// all returns every value of the session sent with token ("": the
// client's).
func (c *client) all(token string) map[string]any {
	code, body := c.do(http.MethodGet, "/all", token)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		c.f.t.Errorf("/all: %d %q: %v", code, body, err)
	}
	return m
}

// check fails the test unless the session holds everything the client set.
func (c *client) check(name string, extra map[string]any) {
	t := c.f.t
	got := c.all("")
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, why := range c.lost {
		t.Errorf("%s: %s", name, why)
	}
	for k, v := range c.set {
		if got[k] != v {
			t.Errorf("%s: key %s: got %v, want %q: a lost session or a lost update", name, k, got[k], v)
		}
	}
	for k, v := range extra {
		if got[k] != v {
			t.Errorf("%s: key %s: got %v, want %v", name, k, got[k], v)
		}
	}
}

// A load is one run of the migration under load: how the switch happens
// and how the old store empties at the end.
type load struct {
	readThrough bool // deploy with MoveFrom an hour ahead, then move
	byExpiry    bool // let the old store's sessions expire rather than MoveAll
}

// How many clients of each kind, and rounds of requests.
const (
	actives  = 12 // write and read all along, and Add concurrently after the switch
	idlers   = 6  // create a session before the switch and never come back
	quitters = 6  // log out after the switch, racing a read of their own
	rounds   = 3  // before the switch, and again after it
	adds     = 5  // Adds of 1 that each active client makes through the Store
)

// run runs the load: clients create sessions on the old store and keep
// writing while every server switches to a migratestore.Store, then go on;
// idle sessions stay in the old store until MoveAll or their expiry. It
// checks that no session is lost, no update is lost, ended sessions stay
// gone, Adds are exact (when the new store can Add), and that the old store
// is empty at the end.
func (l load) run(t *testing.T, p pair) {
	moveFrom := time.Time{}
	if l.readThrough {
		moveFrom = p.clock.Now().Add(time.Hour)
	}
	f := newFarm(t, p, 3, moveFrom)
	canAdd := true
	if _, _, err := p.new.Apply(t.Context(), "never-created", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0); err != nil {
		canAdd = false
		t.Logf("the new store cannot Add yet (%v): the exact Adds are not checked", err)
	}

	var ready, done sync.WaitGroup
	switched := make(chan struct{})
	all := make([]*client, actives+idlers+quitters)
	ids := make([]string, len(all))
	for i := range all {
		c := newClient(f)
		all[i] = c
		ready.Add(1)
		done.Go(func() {
			c.setKey("first", "1")
			ids[i] = c.id()
			switch {
			case i < actives:
				for r := range rounds {
					c.round(r)
				}
				ready.Done()
				for r := rounds; !closed(switched); r++ { // mid-load: the switch happens meanwhile
					c.round(r)
				}
				var wg sync.WaitGroup
				if canAdd {
					wg.Go(func() {
						for range adds {
							if _, _, err := f.servers[0].s.Apply(t.Context(), ids[i], store.Delta{Add: map[string]int64{"hits": 1}}, idleTimeout, 0); err != nil {
								t.Errorf("Apply: %v", err)
							}
						}
					})
				}
				for r := range rounds {
					c.round(100 + r)
				}
				wg.Wait()
			case i < actives+idlers:
				ready.Done()
			default:
				ready.Done()
				<-switched
				// The logout races a read that moves the session.
				token := c.current()
				var wg sync.WaitGroup
				wg.Go(func() { c.do(http.MethodPost, "/close", token) })
				wg.Go(func() { c.do(http.MethodGet, "/get?k=first", token) })
				wg.Wait()
			}
		})
	}
	ready.Wait()
	if l.readThrough {
		f.switchOver(false)
		f.waitRequests(100) // some on the old store alone, the rest reading through
		f.startMoving()
	} else {
		f.switchOver(true)
	}
	close(switched)
	done.Wait()

	ctx := t.Context()
	for i, c := range all[:actives] {
		extra := map[string]any{}
		if canAdd {
			extra["hits"] = float64(adds) // a JSON number
		}
		c.check(fmt.Sprint("active client ", i), extra)
	}
	for i, id := range ids[actives+idlers:] {
		for name, st := range map[string]store.Store{"old": p.old, "new": p.new, "migrating": f.servers[0].s} {
			if _, found, err := st.Load(ctx, id, 0); err != nil || found {
				t.Errorf("quitter %d: Load from the %s store: got %v, %v, want false, nil: a logout undone", i, name, found, err)
			}
		}
	}
	s := f.servers[0].s
	if n, err := s.Remaining(ctx); err != nil || n != idlers {
		t.Errorf("Remaining after the load: got %d, %v, want %d (the idle sessions)", n, err, idlers)
	}

	if !l.byExpiry {
		if moved, err := s.MoveAll(ctx); err != nil || moved != idlers {
			t.Errorf("MoveAll: got %d, %v, want %d, nil", moved, err, idlers)
		}
		if n, err := s.Remaining(ctx); err != nil || n != 0 {
			t.Errorf("Remaining after MoveAll: got %d, %v, want 0", n, err)
		}
		for i, c := range all[actives : actives+idlers] {
			c.check(fmt.Sprint("idle client ", i), nil)
		}
		return
	}
	p.advance(idleTimeout + time.Minute)
	if n, err := s.Remaining(ctx); err != nil || n != 0 {
		t.Errorf("Remaining after the expiry: got %d, %v, want 0", n, err)
	}
	reaped, err := f.servers[1].m.Reap(ctx)
	if err != nil || reaped != actives+idlers {
		t.Errorf("Reap: got %d, %v, want %d (every session but the quitters'), nil", reaped, err, actives+idlers)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids[:actives+idlers] {
		if f.expired[id] != 1 {
			t.Errorf("OnExpired of %s: got %d calls, want 1", id, f.expired[id])
		}
	}
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestUnderLoad(t *testing.T) {
	setups := []struct {
		name string
		pair func(t testing.TB) pair
	}{
		{"memstore to memstore", memPair},
		{"memstore to redisstore on a real Redis", func(t testing.TB) pair { return realRedisPair(t, false) }},
		{"redisstore to redisstore under another Application on the same Redis", func(t testing.TB) pair { return realRedisPair(t, true) }},
	}
	loads := []struct {
		name string
		load load
	}{
		{"all servers switch at once, then MoveAll", load{}},
		{"a rollout that reads through, then moves; the old store empties by expiry", load{readThrough: true, byExpiry: true}},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			for _, l := range loads {
				t.Run(l.name, func(t *testing.T) { l.load.run(t, setup.pair(t)) })
			}
		})
	}
}
