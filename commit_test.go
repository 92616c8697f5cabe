package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
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
		e.h.ServeHTTP(w, r)
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
