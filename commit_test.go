package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/store"
)

func TestRenewFailureKeepsTheOldSession(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=cart&v=3")
	inner := e.store.Store
	e.store.Store = moveFails{inner}
	if w := c.do(http.MethodGet, "/renew"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", w.Code)
	}
	e.store.Store = inner
	if got := c.get("/get?k=cart"); got != "3" {
		t.Fatalf("after a failed Renew got cart=%q, want 3: the client was left with no session", got)
	}
}

func TestLateChangeStoreFailureIsReported(t *testing.T) {
	var reported []error
	e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.store.Store = updateFails{e.store.Store}
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_ = session.FromContext(r.Context()).Set("late", true)
	})
	if len(reported) != 1 || !errors.Is(reported[0], session.ErrStore) {
		t.Fatalf("reported %v, want one error wrapping ErrStore", reported)
	}
}

func TestAYoungTokensWriteRenewsTheStoreExpiry(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, TouchInterval: time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.clock.Advance(30 * time.Second)
	c.get("/set?k=b&v=2")                         // young token: kept, but the store's expiry moves to +20m30s
	e.clock.Advance(20*time.Minute - time.Second) // past the token's expiry, before the store's
	if _, found, _ := e.mem.Load(context.Background(), tokenID(t, e, c.token), 0); !found {
		t.Fatal("the write did not renew the store's expiry")
	}
}

func TestStoreFailure(t *testing.T) {
	e := newEnv(t, session.Config{})
	sw := &switchStore{Store: e.store.Store}
	e.store.Store = sw
	c := e.client()
	c.get("/set?k=n&v=1")
	sw.failed = true

	for _, tt := range []struct {
		name, path, accept, wantType, wantBody string
	}{
		{"a failed load answers 503 with JSON for JSON clients", "/incr", "application/json", "application/json", `"error":"session_store_unavailable"`},
		{"a failed load answers 503 in plain text for others", "/get?k=n", "text/html", "text/plain; charset=utf-8", "unavailable"},
		{"a failed write answers 503 instead of the handler's response", "/set?k=n&v=2", "", "text/plain; charset=utf-8", "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Header.Set("Accept", tt.accept)
			r.AddCookie(&http.Cookie{Name: "session", Value: c.token})
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != tt.wantType || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if strings.Contains(w.Body.String(), "ok") || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("the handler's answer or a cookie leaked into the error response: %q %v", w.Body, w.Header())
			}
		})
	}
	t.Run("nothing was half-written", func(t *testing.T) {
		sw.failed = false
		if got := c.get("/get?k=n"); got != "1" {
			t.Fatalf("got %q, want 1", got)
		}
	})
	t.Run("the error handler can be replaced", func(t *testing.T) {
		var seen error
		e := newEnv(t, session.Config{Store: failingStore{errDown}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			seen = err
			http.Error(w, "custom", http.StatusTeapot)
		}})
		w := e.client().do(http.MethodGet, "/set?k=a&v=1")
		if w.Code != http.StatusTeapot || !errors.Is(seen, session.ErrStore) || !errors.Is(seen, errDown) {
			t.Fatalf("got %d, error %v; want 418 and an error matching ErrStore and the cause", w.Code, seen)
		}
	})
	t.Run("a hanging store is cut off by StoreTimeout with 503", func(t *testing.T) {
		e := newEnv(t, session.Config{Store: blockingStore{}, StoreTimeout: time.Millisecond})
		w := e.client().do(http.MethodGet, "/set?k=a&v=1")
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
	})
	t.Run("a load is bounded by the request's context", func(t *testing.T) {
		e := newEnv(t, session.Config{Store: blockingStore{}, StoreTimeout: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := httptest.NewRequest(http.MethodGet, "/get?k=a", nil).WithContext(ctx)
		r.AddCookie(&http.Cookie{Name: "session", Value: c.token})
		w := httptest.NewRecorder()
		served := make(chan struct{})
		go func() {
			defer close(served)
			e.h.ServeHTTP(w, r)
		}()
		// A load that ignored the request's context would wait for the
		// hour of StoreTimeout: fail instead of hanging the test.
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("the load still waits on a store that blocks, 10s after its request's context was canceled")
		}
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
	})
	t.Run("a request that never touches its session works while the store is down", func(t *testing.T) {
		sw.failed = true
		defer func() { sw.failed = false }()
		e.store.Calls()
		if got := c.get("/noop"); got != "ok" {
			t.Fatalf("got %q", got)
		}
		if calls := e.store.Calls(); len(calls) != 0 {
			t.Fatalf("got store calls %v, want none", calls)
		}
	})
}

func TestLateChanges(t *testing.T) {
	var reported []error
	e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	c := e.client()
	c.get("/set?k=a&v=1")

	t.Run("a change after the headers went out is saved when the ID did not change", func(t *testing.T) {
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("streaming"))
			_ = session.FromContext(r.Context()).Set("late", true)
		})
		if got := c.get("/get?k=late"); got != "true" || len(reported) != 0 {
			t.Fatalf("got %q, reported %v", got, reported)
		}
	})
	t.Run("a new session made after the headers went out is reported, not silently dropped", func(t *testing.T) {
		e.client().serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_ = session.FromContext(r.Context()).Set("late", true)
		})
		if len(reported) != 1 || !errors.Is(reported[0], session.ErrHeadersSent) {
			t.Fatalf("reported %v, want ErrHeadersSent", reported)
		}
	})
	t.Run("a renewal after the headers went out is refused and the session kept", func(t *testing.T) {
		reported = nil
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			if err := session.FromContext(r.Context()).Renew(); !errors.Is(err, session.ErrHeadersSent) {
				t.Errorf("Renew: got %v, want ErrHeadersSent", err)
			}
		})
		if got := c.get("/get?k=a"); got != "1" || len(reported) != 0 {
			t.Fatalf("after the refused renewal got a=%q, reported %v; want the session intact", got, reported)
		}
	})
}

func TestAfterHeadersAFailedReadLosesNothingSilently(t *testing.T) {
	var reported []error
	e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	sw := &switchStore{Store: e.store.Store}
	e.store.Store = sw
	c := e.client()
	c.get("/set?k=a&v=1")
	id := tokenID(t, e, c.token)

	t.Run("a logout after the read failed still ends the session", func(t *testing.T) {
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			w.WriteHeader(http.StatusOK)
			sw.failed = true
			defer func() { sw.failed = false }()
			if _, _, err := session.Get[int](s, "a"); err == nil {
				t.Fatal("the read did not fail")
			}
			s.Destroy()
		})
		if _, found, _ := e.mem.Load(context.Background(), id, 0); found {
			t.Fatal("the destroyed session is still stored")
		}
	})
	t.Run("a write after the read failed is reported", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		reported = nil
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			w.WriteHeader(http.StatusOK)
			sw.failed = true
			_, _, _ = session.Get[int](s, "a")
			sw.failed = false
			_ = s.Set("b", 2)
		})
		if len(reported) != 1 || !errors.Is(reported[0], session.ErrStore) {
			t.Fatalf("reported %v, want the store error", reported)
		}
	})
}

func TestWriteAtTheLifetimeBoundaryGoesToANewSession(t *testing.T) {
	e := newEnv(t, session.Config{Lifetime: time.Hour, IdleTimeout: 20 * time.Minute})
	e.store.Store = paddedStore{e.store.Store}
	c := e.client()
	c.get("/set?k=a&v=1")
	for range 4 {
		e.clock.Advance(12 * time.Minute)
		c.get("/get?k=a")
	}
	e.clock.Advance(11 * time.Minute) // 59 minutes old: one minute of Lifetime left
	c.get("/get?k=a")
	old := c.token
	w := c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		e.clock.Advance(time.Minute + time.Millisecond) // the Lifetime ends during the request
		_ = s.Set("b", 2)
	})
	if ck := cookieOf(w, "session"); c.token == old || ck == nil || ck.MaxAge <= 0 {
		t.Fatalf("got cookie %v: want a new, live token", cookieOf(w, "session"))
	}
	if got := c.get("/keys"); got != "b" {
		t.Fatalf("the client's session holds %q, want the write in a new session", got)
	}
	if _, found, _ := e.mem.Load(context.Background(), tokenID(t, e, old), 0); found {
		t.Fatal("the session past its Lifetime is still stored")
	}
}

func TestOnCreated(t *testing.T) {
	created := 0
	e := newEnv(t, session.Config{OnCreated: func(ctx context.Context, s *session.Session) error {
		created++
		return s.Set("theme", "dark")
	}})
	c := e.client()
	c.get("/noop")
	if created != 0 {
		t.Fatal("OnCreated ran for a session that stored nothing")
	}
	c.get("/set?k=a&v=1")
	if got := c.get("/get?k=theme"); created != 1 || got != `"dark"` {
		t.Fatalf("got theme=%s after %d calls, want the default set by the one call", got, created)
	}
	c.get("/set?k=b&v=2")
	c.get("/renew")
	if created != 1 {
		t.Fatalf("OnCreated ran %d times, want once: writes and renewals are not creations", created)
	}
}

func TestMaxSessions(t *testing.T) {
	t.Run("exactly MaxSessions of many concurrent new sessions are stored; the rest get 503", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxSessions: 10})
		var wg sync.WaitGroup
		codes := make([]int, 50)
		for i := range codes {
			wg.Go(func() { codes[i] = e.client().do(http.MethodPost, "/set?k=a&v=1").Code })
		}
		wg.Wait()
		ok, full := 0, 0
		for _, code := range codes {
			switch code {
			case http.StatusOK:
				ok++
			case http.StatusServiceUnavailable:
				full++
			}
		}
		if ok != 10 || full != 40 {
			t.Fatalf("got %d stored and %d refused, want 10 and 40", ok, full)
		}
		r := httptest.NewRequest(http.MethodPost, "/set?k=a&v=1", nil)
		r.Header.Set("Accept", "application/json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if !contains(w.Body.String(), "too_many_sessions") {
			t.Fatalf("got %d %s, want too_many_sessions", w.Code, w.Body)
		}
	})
	t.Run("a destroyed session frees its place", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxSessions: 1})
		a := e.client()
		a.get("/set?k=a&v=1")
		if w := e.client().do(http.MethodPost, "/set?k=a&v=1"); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("the second session got %d, want 503", w.Code)
		}
		a.do(http.MethodPost, "/close")
		if w := e.client().do(http.MethodPost, "/set?k=a&v=1"); w.Code != http.StatusOK {
			t.Fatalf("after a logout got %d, want 200", w.Code)
		}
	})
	t.Run("OnMaxSessions can let a request through", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxSessions: 1, OnMaxSessions: func(r *http.Request) bool { return r.URL.Query().Get("admin") == "1" }})
		e.client().get("/set?k=a&v=1")
		if w := e.client().do(http.MethodPost, "/set?k=a&v=1&admin=1"); w.Code != http.StatusOK {
			t.Fatalf("an admin got %d, want 200", w.Code)
		}
		if w := e.client().do(http.MethodPost, "/set?k=a&v=1"); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("another got %d, want 503", w.Code)
		}
	})
	t.Run("a renewal does not count twice", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxSessions: 1})
		c := e.client()
		c.get("/set?k=a&v=1")
		for range 3 {
			if w := c.do(http.MethodPost, "/login?u=ann"); w.Code != http.StatusOK {
				t.Fatalf("a login of the one session got %d, want 200", w.Code)
			}
		}
	})
}

// flakyStore fails the first n calls of one kind, then works.
type flakyStore struct {
	store.Store
	mu    sync.Mutex // protects fails
	fails int
}

func (f *flakyStore) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errDown
	}
	return nil
}

func (f *flakyStore) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.Update(ctx, id, d, ttl, maxKeys)
}

func (f *flakyStore) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if err := f.fail(); err != nil {
		return nil, false, err
	}
	return f.Store.Apply(ctx, id, d, ttl, maxKeys)
}

func TestOnStoreError(t *testing.T) {
	var asked []string
	retry := true
	e := newEnv(t, session.Config{OnStoreError: func(r *http.Request, id string, err error) bool {
		asked = append(asked, id)
		return retry
	}})
	c := e.client()
	c.get("/set?k=a&v=1")
	id := tokenID(t, e, c.token)
	flaky := &flakyStore{Store: e.store.Store}
	e.store.Store = flaky

	t.Run("a store that fails once is asked about once and retried", func(t *testing.T) {
		flaky.fails, asked = 1, nil
		if w := c.do(http.MethodPost, "/set?k=b&v=2"); w.Code != http.StatusOK {
			t.Fatalf("got %d, want 200 after the retry", w.Code)
		}
		if len(asked) != 1 || asked[0] != id {
			t.Fatalf("OnStoreError was asked %v, want once with the session's ID", asked)
		}
		if got := c.get("/get?k=b"); got != "2" {
			t.Fatalf("got b=%s, want 2", got)
		}
	})
	t.Run("never more than one retry", func(t *testing.T) {
		flaky.fails, asked = 5, nil
		if w := c.do(http.MethodPost, "/set?k=c&v=3"); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
		if len(asked) != 1 {
			t.Fatalf("OnStoreError was asked %d times, want once", len(asked))
		}
	})
	t.Run("no retry when the hook says no", func(t *testing.T) {
		flaky.fails, asked, retry = 1, nil, false
		if w := c.do(http.MethodPost, "/set?k=d&v=4"); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
	})
}

// TestOnErrorMayUseTheSession: OnError receives the request, and a natural
// OnError logs who lost a change (the session's ID, or its "user"). The
// request must still end: OnError is called with no lock of the session
// held. A deadlock here hangs the request and leaks its goroutine.
func TestOnErrorMayUseTheSession(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stored bool // the client holds a stored session, whose update fails
	}{
		{"a late change that needs a new token", false},
		{"a late change the store fails to save", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reported []error
			e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) {
				_ = session.FromContext(r.Context()).ID() // who lost a change
				reported = append(reported, err)
			}})
			c := e.client()
			if tt.stored {
				c.get("/set?k=a&v=1")
				e.store.Store = updateFails{e.store.Store}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.serve(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusOK)
					_ = session.FromContext(r.Context()).Set("late", true)
				})
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Second): // bounds a deadlock; a passing run takes microseconds
				t.Fatal("the request never ended: OnError reading the session deadlocked on the session's lock")
			}
			if len(reported) != 1 {
				t.Fatalf("OnError got %v, want one report", reported)
			}
		})
	}
}

// TestBeforeHeadersALogoutAfterAFailedReadStillEndsTheSession is the
// before-headers twin of "a logout after the read failed still ends the
// session" in TestAfterHeadersAFailedReadLosesNothingSilently: a logout
// handler reads the user (for its audit log), the read fails on a store
// blip, it destroys the session and answers. The answer is the
// ErrorHandler's 503, but ending a session needs nothing loaded and is
// never half-done, so the store should be asked to delete it, as it is on
// every other path (5xx, panic, after the headers).
func TestBeforeHeadersALogoutAfterAFailedReadStillEndsTheSession(t *testing.T) {
	e := newEnv(t, session.Config{})
	sw := &switchStore{Store: e.store.Store}
	e.store.Store = sw
	c := e.client()
	c.get("/set?k=user&v=1")
	id := tokenID(t, e, c.token)
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		sw.failed = true
		_, _, err := session.Get[string](s, "user")
		sw.failed = false // the blip is over
		if err == nil {
			t.Fatal("the read did not fail")
		}
		s.Destroy()
		w.WriteHeader(http.StatusNoContent)
	})
	if _, found, _ := e.mem.Load(context.Background(), id, 0); found {
		t.Fatalf("answered %d and the destroyed session is still stored: the logout was never sent to the store", c.last.Code)
	}
}

func TestProceedAnonymous(t *testing.T) {
	var reported []error
	e := newEnv(t, session.Config{StoreDown: session.ProceedAnonymous, OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	c := e.client()
	c.get("/set?k=user&v=1")
	token := c.token
	inner := e.store.Store
	e.store.Store = failingStore{errDown}
	down := func(t *testing.T) {
		t.Helper()
		reported = nil
		e.store.Calls()
	}

	t.Run("a read finds nothing and the request goes on as new", func(t *testing.T) {
		down(t)
		if w := c.do(http.MethodGet, "/get?k=user"); w.Code != http.StatusNotFound || len(w.Header().Values("Set-Cookie")) != 0 {
			t.Fatalf("got %d %q and Set-Cookie %q, want 404 absent and no cookie", w.Code, w.Body, w.Header().Values("Set-Cookie"))
		}
		if got := c.get("/isnew"); got != "true" {
			t.Fatalf("IsNew: got %s, want true", got)
		}
		if len(reported) == 0 || !errors.Is(reported[0], session.ErrStore) {
			t.Fatalf("OnError got %v, want the load failure", reported)
		}
	})
	t.Run("a write after the failed read is refused and reported, and nothing is written", func(t *testing.T) {
		down(t)
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_, _, _ = session.Get[int](s, "user")
			if err := s.Set("user", 2); !errors.Is(err, session.ErrStore) {
				t.Errorf("Set: got %v, want an error wrapping ErrStore", err)
			}
			if err := s.Login("mallory", ""); !errors.Is(err, session.ErrStore) {
				t.Errorf("Login: got %v, want an error wrapping ErrStore", err)
			}
		})
		if w.Code != http.StatusOK || len(w.Header().Values("Set-Cookie")) != 0 {
			t.Fatalf("got %d and Set-Cookie %q, want 200 and the cookie left alone", w.Code, w.Header().Values("Set-Cookie"))
		}
		for _, call := range e.store.Calls() {
			if call != "Load" {
				t.Fatalf("the store got %s, want nothing but the failed load", call)
			}
		}
		if len(reported) != 3 {
			t.Fatalf("OnError got %d reports, want the load failure and the two refusals", len(reported))
		}
	})
	t.Run("once the store is back the session is there as it was", func(t *testing.T) {
		e.store.Store = inner
		if c.token != token {
			t.Fatal("the client's token changed while the store was down")
		}
		if got := c.get("/get?k=user"); got != "1" {
			t.Fatalf("got user=%s, want 1", got)
		}
	})
	t.Run("by default the request fails closed with 503", func(t *testing.T) {
		e := newEnv(t, session.Config{Store: failingStore{errDown}})
		tokenClient := &client{e: e, token: token}
		if w := tokenClient.do(http.MethodGet, "/get?k=user"); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
	})
}

// TestOnCreatedMayDestroy: OnCreated gets the Session and may use it; one
// that decides against the session (a crawler, say) and calls Destroy must
// leave nothing stored, and answer the request as usual. Instead the
// commit stores a session under the empty ID, and every later request that
// OnCreated destroys collides with it: 503.
func TestOnCreatedMayDestroy(t *testing.T) {
	e := newEnv(t, session.Config{OnCreated: func(ctx context.Context, s *session.Session) error {
		if crawler, _, _ := session.Get[bool](s, "crawler"); crawler {
			s.Destroy()
		}
		return nil
	}})
	for i := range 2 {
		if w := e.client().do(http.MethodPost, "/set?k=crawler&v=true"); w.Code != http.StatusOK {
			t.Errorf("crawler %d: got %d %s, want 200", i+1, w.Code, strings.TrimSpace(w.Body.String()))
		}
	}
	if n, _ := e.m.Count(t.Context()); n != 0 {
		t.Errorf("after OnCreated destroyed the new sessions the store holds %d session(s), want none", n)
	}
}

// derivedContext is a request context that counts the contexts derived from
// it that still wait for it to end: context.WithTimeout registers each one
// through AfterFunc, and the CancelFunc its deriver must call unregisters
// it. A derived context whose CancelFunc is lost stays registered, and its
// timer runs, until the request ends or the timeout fires. It hides the
// cancelable context it wraps (no Value), so that the context package
// cannot register children there instead.
type derivedContext struct {
	context.Context // Background: no Value, no Deadline
	ctx             context.Context
	mu              sync.Mutex
	live            int // protected by mu
}

func (c *derivedContext) Done() <-chan struct{} { return c.ctx.Done() }
func (c *derivedContext) Err() error            { return c.ctx.Err() }

func (c *derivedContext) AfterFunc(f func()) func() bool {
	stop := context.AfterFunc(c.ctx, f)
	c.mu.Lock()
	c.live++
	c.mu.Unlock()
	var once sync.Once
	return func() bool {
		once.Do(func() {
			c.mu.Lock()
			c.live--
			c.mu.Unlock()
		})
		return stop()
	}
}

func (c *derivedContext) registered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

func TestStoreCallsReleaseTheirTimeouts(t *testing.T) {
	e := newEnv(t, session.Config{StoreTimeout: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req := &derivedContext{Context: context.Background(), ctx: ctx}
	c := e.client()
	c.ctx = req
	for _, target := range []string{"/set?k=a&v=1", "/get?k=a", "/incr", "/set?k=b&v=2", "/add?k=n&n=1", "/take?k=b", "/destroy"} {
		c.get(target)
		if n := req.registered(); n != 0 {
			t.Fatalf("after %s, %d store call timeouts are still running on the request's context, want 0: each call's CancelFunc must be called", target, n)
		}
	}
}
