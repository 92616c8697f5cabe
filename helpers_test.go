package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// moveFails fails Move only: a Renew whose new session cannot be stored.
type moveFails struct{ store.Store }

func (moveFails) Move(context.Context, string, string, store.Delta, time.Duration, int) (bool, error) {
	return false, errDown
}

// updateFails fails Update only.
type updateFails struct{ store.Store }

func (updateFails) Update(context.Context, string, store.Delta, time.Duration, int) (bool, error) {
	return false, errDown
}

// upperCodec stores strings upper-cased: visible proof Config.Codec is used.
type upperCodec struct{ session.JSON }

func (u upperCodec) Marshal(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		v = strings.ToUpper(s)
	}
	return u.JSON.Marshal(v)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var testKey = session.Key{Hash: []byte("0123456789abcdef0123456789abcdef")}

// countingStore records every call that reaches the store underneath: one
// call is one round trip for a remote store.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) record(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, op)
}

// Calls returns the calls since the last Calls, and forgets them.
func (c *countingStore) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func (c *countingStore) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if ttl > 0 {
		c.record("Load+touch")
	} else {
		c.record("Load")
	}
	return c.Store.Load(ctx, id, ttl)
}

func (c *countingStore) Create(ctx context.Context, id string, v map[string][]byte, ttl time.Duration, max int) error {
	c.record("Create")
	return c.Store.Create(ctx, id, v, ttl, max)
}

func (c *countingStore) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	c.record("Apply")
	return c.Store.Apply(ctx, id, d, ttl, maxKeys)
}

func (c *countingStore) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	c.record("Update")
	return c.Store.Update(ctx, id, d, ttl, maxKeys)
}

func (c *countingStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	c.record("Move")
	return c.Store.Move(ctx, from, to, d, ttl, maxKeys)
}

func (c *countingStore) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	c.record("Touch")
	return c.Store.Touch(ctx, id, ttl)
}

func (c *countingStore) Delete(ctx context.Context, id string) (bool, error) {
	c.record("Delete")
	return c.Store.Delete(ctx, id)
}

// countingLender is a countingStore over a store.Lender, which lends through
// it: a Lend is counted as the Load it replaces, one round trip. It keeps
// every View lent, with a copy of what it held, so that check can tell
// whether anything wrote into one: the middleware must never do so. A test
// that replaces the store underneath with one that does not lend (a
// failing one) has its Lends served by Load.
type countingLender struct {
	*countingStore
	lent []lentView // protected by countingStore.mu
}

// lentView is a View as lent, with a copy of what it held then.
type lentView struct {
	v    store.View
	held map[string]string
}

func (c *countingLender) Lend(ctx context.Context, id string, ttl time.Duration) (store.View, bool, error) {
	if ttl > 0 {
		c.record("Load+touch")
	} else {
		c.record("Load")
	}
	l, ok := c.Store.(store.Lender)
	if !ok {
		m, found, err := c.Store.Load(ctx, id, ttl)
		if !found {
			return nil, found, err
		}
		return mapView(m), true, err
	}
	v, found, err := l.Lend(ctx, id, ttl)
	if found {
		c.mu.Lock()
		c.lent = append(c.lent, lentView{v, viewCopy(v)})
		c.mu.Unlock()
	}
	return v, found, err
}

// lends returns how many Views were lent.
func (c *countingLender) lends() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lent)
}

// check fails the test for each View that no longer holds what it held
// when lent.
func (c *countingLender) check(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, lv := range c.lent {
		if now := viewCopy(lv.v); !maps.Equal(now, lv.held) {
			t.Errorf("View %d of %d lent: holds %q at the end, want %q, what it held when lent: something wrote into it", i+1, len(c.lent), now, lv.held)
		}
	}
}

// mapView is a View of a map.
type mapView map[string][]byte

func (v mapView) Len() int                       { return len(v) }
func (v mapView) Get(key string) ([]byte, bool)  { b, ok := v[key]; return b, ok }
func (v mapView) All() iter.Seq2[string, []byte] { return maps.All(v) }
func (v mapView) Map() map[string][]byte         { return maps.Clone(v) }

// viewCopy returns what v holds, copied.
func viewCopy(v store.View) map[string]string {
	m := make(map[string]string, v.Len())
	for k, b := range v.All() {
		m[k] = string(b)
	}
	return m
}

// The optional capabilities pass through countingStore when the store
// underneath has them (and are counted too); without them Indexed reports
// false and the rest say store.ErrNotIndexed.

func (c *countingStore) Indexed() bool {
	ix, ok := c.Store.(store.Indexer)
	return ok && ix.Indexed()
}

func (c *countingStore) indexer(op string) (store.Indexer, error) {
	c.record(op)
	if ix, ok := c.Store.(store.Indexer); ok {
		return ix, nil
	}
	return nil, store.ErrNotIndexed
}

func (c *countingStore) Count(ctx context.Context) (int, error) {
	ix, err := c.indexer("Count")
	if err != nil {
		return 0, err
	}
	return ix.Count(ctx)
}

func (c *countingStore) List(ctx context.Context, cursor string, limit int) ([]store.Info, string, error) {
	ix, err := c.indexer("List")
	if err != nil {
		return nil, "", err
	}
	return ix.List(ctx, cursor, limit)
}

func (c *countingStore) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	ix, err := c.indexer("Peek")
	if err != nil {
		return store.Record{}, false, err
	}
	return ix.Peek(ctx, id)
}

// Remove is counted as "Delete": it is the call that ends a session on an
// indexed store, one round trip, as Delete is on another. When a test has
// put a store without an index underneath, it is Delete.
func (c *countingStore) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	c.record("Delete")
	ix, ok := c.Store.(store.Indexer)
	if !ok {
		found, err := c.Store.Delete(ctx, id)
		return store.Info{}, found, err
	}
	return ix.Remove(ctx, id)
}

func (c *countingStore) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	ix, err := c.indexer("UserSessions")
	if err != nil {
		return nil, err
	}
	return ix.UserSessions(ctx, user)
}

func (c *countingStore) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	c.record("ClaimExpired")
	if ex, ok := c.Store.(store.Expirer); ok {
		return ex.ClaimExpired(ctx, limit, lease)
	}
	return nil, store.ErrNotIndexed
}

func (c *countingStore) Reap(ctx context.Context, ids ...string) error {
	c.record("Reap")
	if ex, ok := c.Store.(store.Expirer); ok {
		return ex.Reap(ctx, ids...)
	}
	return store.ErrNotIndexed
}

func (c *countingStore) Reserve(ctx context.Context, id string, max int) (bool, error) {
	c.record("Reserve")
	if l, ok := c.Store.(store.Limiter); ok {
		return l.Reserve(ctx, id, max)
	}
	return false, store.ErrNotIndexed
}

func (c *countingStore) Publish(ctx context.Context, e store.Event) error {
	c.record("Publish")
	if n, ok := c.Store.(store.Notifier); ok {
		return n.Publish(ctx, e)
	}
	return store.ErrNotIndexed
}

func (c *countingStore) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	if n, ok := c.Store.(store.Notifier); ok {
		return n.Subscribe(ctx, fn)
	}
	return nil, store.ErrNotIndexed
}

// failingStore fails every call, like a Redis that is down.
type failingStore struct{ err error }

func (f failingStore) Load(context.Context, string, time.Duration) (map[string][]byte, bool, error) {
	return nil, false, f.err
}

func (f failingStore) Create(context.Context, string, map[string][]byte, time.Duration, int) error {
	return f.err
}

func (f failingStore) Move(context.Context, string, string, store.Delta, time.Duration, int) (bool, error) {
	return false, f.err
}

func (f failingStore) Apply(context.Context, string, store.Delta, time.Duration, int) (map[string][]byte, bool, error) {
	return nil, false, f.err
}

func (f failingStore) Update(context.Context, string, store.Delta, time.Duration, int) (bool, error) {
	return false, f.err
}

func (f failingStore) Touch(context.Context, string, time.Duration) (bool, error) {
	return false, f.err
}

func (f failingStore) Delete(context.Context, string) (bool, error) { return false, f.err }

// env is a manager on a counted memstore with a fake clock, serving
// testRoutes.
type env struct {
	t      testing.TB
	clock  *fakeclock.Clock
	mem    *memstore.Store
	store  *countingStore
	lender *countingLender // store, when the store underneath is a store.Lender
	m      *session.Manager
	h      http.Handler
}

// newEnv builds an env; cfg's Store, Keys and Now are filled in when empty.
func newEnv(t testing.TB, cfg session.Config) *env {
	t.Helper()
	e := &env{t: t, clock: fakeclock.New()}
	if cfg.Store == nil {
		e.mem = memstore.New(memstore.Config{Now: e.clock.Now})
		t.Cleanup(func() { e.mem.Close() })
		cfg.Store = e.mem
	}
	e.store = &countingStore{Store: cfg.Store}
	cfg.Store = e.store
	if _, ok := e.store.Store.(store.Lender); ok {
		e.lender = &countingLender{countingStore: e.store}
		cfg.Store = e.lender
		t.Cleanup(func() { e.lender.check(t) })
	}
	if cfg.Keys == nil {
		cfg.Keys = []session.Key{testKey}
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	if cfg.ReapInterval == 0 {
		cfg.ReapInterval = -1 // tests reap when they choose, with Manager.Reap
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	e.m = m
	e.h = m.Handler(testRoutes(m))
	return e
}

// testRoutes answers /get?k=, /set?k=&v= (v is JSON), /del?k=, /incr, /noop,
// /add?k=&n=, /setadd?k=&v=&a=&n= (Set then Add), /take?k=,
// /keys, /clear, /destroy, /renew, /isnew, /close, /login?u=&label= and
// /user.
func testRoutes(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		var v any
		ok, err := session.FromContext(r.Context()).Get(r.URL.Query().Get("k"), &v)
		if err != nil {
			return
		}
		if !ok {
			http.Error(w, "absent", http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var v any
		if err := json.Unmarshal([]byte(q.Get("v")), &v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := session.FromContext(r.Context()).Set(q.Get("k"), v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/del", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Delete(r.URL.Query().Get("k"))
	})
	mux.HandleFunc("/incr", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, err := session.Get[int](s, "n")
		if err != nil {
			return
		}
		if err := s.Set("n", n+1); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n+1)
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		add(w, r, r.URL.Query().Get("k"))
	})
	mux.HandleFunc("/setadd", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := session.FromContext(r.Context()).Set(q.Get("k"), q.Get("v")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		add(w, r, q.Get("a"))
	})
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		var v any
		ok, err := session.FromContext(r.Context()).Take(r.URL.Query().Get("k"), &v)
		switch {
		case errors.Is(err, session.ErrStore):
			return // the ErrorHandler answers
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		case !ok:
			http.Error(w, "absent", http.StatusNotFound)
		default:
			_ = json.NewEncoder(w).Encode(v)
		}
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		keys, err := session.FromContext(r.Context()).Keys()
		if err != nil {
			return
		}
		fmt.Fprint(w, strings.Join(keys, ","))
	})
	mux.HandleFunc("/clear", func(w http.ResponseWriter, r *http.Request) { session.FromContext(r.Context()).Clear() })
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) { session.FromContext(r.Context()).Destroy() })
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) { _ = session.FromContext(r.Context()).Renew() })
	mux.HandleFunc("/isnew", func(w http.ResponseWriter, r *http.Request) {
		isNew, err := session.FromContext(r.Context()).IsNew()
		if err != nil {
			return
		}
		fmt.Fprint(w, isNew)
	})
	mux.Handle("/close", m.CloseHandler())
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := session.FromContext(r.Context()).Login(q.Get("u"), q.Get("label")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		user, err := session.FromContext(r.Context()).User()
		if err != nil {
			return
		}
		fmt.Fprint(w, user)
	})
	mux.Handle("/required", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "in") })))
	return mux
}

// add answers /add and /setadd: Session.Add(key, n) of the request's n,
// answering the sum.
func add(w http.ResponseWriter, r *http.Request, key string) {
	n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum, err := session.FromContext(r.Context()).Add(key, n)
	switch {
	case errors.Is(err, session.ErrStore):
		return // the ErrorHandler answers
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		fmt.Fprint(w, sum)
	}
}

// client is a browser or API client of an env: it keeps the token the
// server gives it, in a cookie or (header mode) for the Session-Id header.
type client struct {
	e      *env
	header bool   // speak the header protocol
	origin string // an Origin header: a script of another origin
	token  string // the token it holds
	last   *httptest.ResponseRecorder
	ctx    context.Context // the requests' context, when set
}

func (e *env) client() *client { return &client{e: e} }

func (e *env) headerClient() *client { return &client{e: e, header: true} }

// do sends a request and keeps what the response says about the token.
func (c *client) do(method, target string) *httptest.ResponseRecorder {
	c.e.t.Helper()
	return c.doWith(c.e.h, method, target)
}

// doWith is do with another handler than the env's routes.
func (c *client) doWith(h http.Handler, method, target string) *httptest.ResponseRecorder {
	c.e.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if c.ctx != nil {
		r = r.WithContext(c.ctx)
	}
	if c.origin != "" {
		r.Header.Set("Origin", c.origin)
	}
	if c.header {
		r.Header.Set(session.HeaderID, c.token)
	} else if c.token != "" {
		r.AddCookie(&http.Cookie{Name: c.e.m.CookieName(), Value: c.token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	c.last = w
	if c.header {
		if tok := w.Header().Get(session.HeaderID); tok != "" {
			c.token = tok
		}
		if w.Header().Get(session.HeaderExpires) == "" {
			c.token = ""
		}
	} else if ck := cookieOf(w, c.e.m.CookieName()); ck != nil {
		c.token = ck.Value
		if ck.MaxAge < 0 {
			c.token = ""
		}
	}
	return w
}

func (c *client) get(target string) string {
	c.e.t.Helper()
	return strings.TrimSpace(c.do(http.MethodGet, target).Body.String())
}

// cookieOf returns the cookie named name that w sets, or nil.
func cookieOf(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var errDown = errors.New("connection refused")

// storeDelta is a Delta that sets key to raw.
func storeDelta(key string, raw []byte) store.Delta {
	return store.Delta{Set: map[string][]byte{key: raw}}
}

// expiresHeader is the Session-Expires value for t: RFC 3339, milliseconds,
// UTC.
func expiresHeader(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// serve runs h inside the env's middleware for one request from c.
func (c *client) serve(h http.HandlerFunc) *httptest.ResponseRecorder {
	c.e.t.Helper()
	return c.doWith(c.e.m.Handler(h), http.MethodGet, "/")
}

// tokenID returns the session ID a token names, by asking the middleware.
func tokenID(t testing.TB, e *env, tok string) string {
	t.Helper()
	var id string
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = session.FromContext(r.Context()).ID()
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(session.HeaderID, tok)
	h.ServeHTTP(httptest.NewRecorder(), r)
	return id
}

// switchStore delegates to a working store until failed is set.
type switchStore struct {
	store.Store
	failed bool
}

func (s *switchStore) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if s.failed {
		return nil, false, errDown
	}
	return s.Store.Load(ctx, id, ttl)
}

func (s *switchStore) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if s.failed {
		return false, errDown
	}
	return s.Store.Update(ctx, id, d, ttl, maxKeys)
}

func (s *switchStore) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if s.failed {
		return nil, false, errDown
	}
	return s.Store.Apply(ctx, id, d, ttl, maxKeys)
}

func (s *switchStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if s.failed {
		return false, errDown
	}
	return s.Store.Move(ctx, from, to, d, ttl, maxKeys)
}

func (s *switchStore) Create(ctx context.Context, id string, v map[string][]byte, ttl time.Duration, max int) error {
	if s.failed {
		return errDown
	}
	return s.Store.Create(ctx, id, v, ttl, max)
}

func (s *switchStore) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if s.failed {
		return false, errDown
	}
	return s.Store.Touch(ctx, id, ttl)
}

func (s *switchStore) Delete(ctx context.Context, id string) (bool, error) {
	if s.failed {
		return false, errDown
	}
	return s.Store.Delete(ctx, id)
}

// blockingStore waits until its context is done, like a Redis that hangs.
type blockingStore struct{ failingStore }

func (blockingStore) Load(ctx context.Context, _ string, _ time.Duration) (map[string][]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func (blockingStore) Create(ctx context.Context, _ string, _ map[string][]byte, _ time.Duration, _ int) error {
	<-ctx.Done()
	return ctx.Err()
}

// paddedStore stretches every ttl a little, as Redis does by counting it
// from when the command arrives, a moment after the middleware's clock.
type paddedStore struct{ store.Store }

func pad(ttl time.Duration) time.Duration {
	if ttl > 0 {
		return ttl + 5*time.Millisecond
	}
	return ttl
}

func (p paddedStore) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	return p.Store.Load(ctx, id, pad(ttl))
}

func (p paddedStore) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	return p.Store.Update(ctx, id, d, pad(ttl), maxKeys)
}

func (p paddedStore) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	return p.Store.Apply(ctx, id, d, pad(ttl), maxKeys)
}

func (p paddedStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	return p.Store.Move(ctx, from, to, d, pad(ttl), maxKeys)
}

func (p paddedStore) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return p.Store.Touch(ctx, id, pad(ttl))
}

// nilMapStore answers an empty session with a nil map, which the contract
// allows.
type nilMapStore struct{ store.Store }

func (n nilMapStore) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	v, found, err := n.Store.Load(ctx, id, ttl)
	if len(v) == 0 {
		v = nil
	}
	return v, found, err
}

// hookStore runs hooks around the writes it passes on, so that a test can
// put another request exactly between two steps of one. Each hook fires
// once, on the first write it sees, and may send requests through the same
// store.
type hookStore struct {
	store.Store
	mu            sync.Mutex // protects before and after
	before, after func(op string)
}

// fire takes the hook *f, if any, and calls it.
func (h *hookStore) fire(f *func(op string), op string) {
	h.mu.Lock()
	hook := *f
	*f = nil
	h.mu.Unlock()
	if hook != nil {
		hook(op)
	}
}

func (h *hookStore) Create(ctx context.Context, id string, v map[string][]byte, ttl time.Duration, maxKeys int) error {
	h.fire(&h.before, "Create")
	defer h.fire(&h.after, "Create")
	return h.Store.Create(ctx, id, v, ttl, maxKeys)
}

func (h *hookStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	h.fire(&h.before, "Move")
	defer h.fire(&h.after, "Move")
	return h.Store.Move(ctx, from, to, d, ttl, maxKeys)
}
