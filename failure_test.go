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
	"github.com/seed58a3dad2/session/store"
)

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

func (s *switchStore) Delete(ctx context.Context, id string) error {
	if s.failed {
		return errDown
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

func TestNewRejectsBadConfig(t *testing.T) {
	mem := newEnv(t, session.Config{}).mem
	for _, tt := range []struct {
		name string
		cfg  session.Config
		want string
	}{
		{"no store", session.Config{Keys: []session.Key{testKey}}, "Config.Store"},
		{"no keys", session.Config{Store: mem}, "Config.Keys"},
		{"a short key", session.Config{Store: mem, Keys: []session.Key{{Hash: []byte("short")}}}, "at least 32"},
		{"a bad AES key", session.Config{Store: mem, Keys: []session.Key{{Hash: testKey.Hash, Block: []byte("x")}}}, "AES"},
		{"a touch interval as long as the timeout", session.Config{Store: mem, Keys: []session.Key{testKey}, IdleTimeout: time.Minute, TouchInterval: time.Minute}, "TouchInterval"},
		{"a __Host- cookie with a domain", session.Config{Store: mem, Keys: []session.Key{testKey}, Cookie: session.CookieConfig{HostPrefix: true, Domain: "example.com"}}, "__Host-"},
	} {
		t.Run("New refuses "+tt.name, func(t *testing.T) {
			if _, err := session.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	keys, err := session.ParseKeys(hexKey + ", " + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=:" + strings.Repeat("cd", 16))
	if err != nil || len(keys) != 2 || len(keys[0].Hash) != 32 || len(keys[1].Hash) != 32 || len(keys[1].Block) != 16 {
		t.Fatalf("got %v, %v", keys, err)
	}
	for _, bad := range []string{"", "abcd", "not-a-key!!", " , "} {
		if _, err := session.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q): got no error", bad)
		}
	}
}
