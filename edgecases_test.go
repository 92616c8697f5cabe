package session_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/store"
)

// Regression tests for paths off the common road: after the headers went out,
// at the Lifetime boundary, and with stores that answer unusually.

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
func (p paddedStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	return p.Store.Move(ctx, from, to, d, pad(ttl), maxKeys)
}
func (p paddedStore) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return p.Store.Touch(ctx, id, pad(ttl))
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

func TestClearDoesNotHideAGoneSession(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	if err := e.mem.Delete(context.Background(), tokenID(t, e, c.token)); err != nil {
		t.Fatal(err)
	}
	clearing := e.m.Handler(func() http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Clear()
			e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("in")) })).ServeHTTP(w, r)
		})
	}())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: c.token})
	w := httptest.NewRecorder()
	clearing.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "session_expired") {
		t.Fatalf("got %d %s, want 401 session_expired", w.Code, w.Body)
	}
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

func TestAStoreAnsweringNilForAnEmptySessionWorks(t *testing.T) {
	e := newEnv(t, session.Config{})
	e.store.Store = nilMapStore{e.store.Store}
	c := e.client()
	c.get("/set?k=a&v=1")
	c.get("/clear")
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		_ = s.Set("b", 2) // a write before the first read: load merges it
		if v, ok, err := session.Get[int](s, "a"); ok || err != nil {
			t.Errorf("got a=%v %v %v, want absent", v, ok, err)
		}
	})
	if got := c.get("/keys"); got != "b" {
		t.Fatalf("got keys %q, want b", got)
	}
}

func TestHijackAfterAReplacedResponseIsRefused(t *testing.T) {
	e := newEnv(t, session.Config{Store: failingStore{errDown}})
	var hijackErr error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.FromContext(r.Context()).Set("a", 1)
		w.WriteHeader(http.StatusOK) // the save fails: a 503 goes out instead
		var conn net.Conn
		conn, _, hijackErr = w.(http.Hijacker).Hijack()
		if conn != nil {
			conn.Write([]byte("handler bytes"))
			conn.Close()
		}
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	if hijackErr == nil || resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "handler bytes") {
		t.Fatalf("got Hijack error %v, status %d, body %q", hijackErr, resp.StatusCode, body)
	}
}

func TestHeaderTokensAreKeptFromSharedCaches(t *testing.T) {
	e := newEnv(t, session.Config{})
	w := e.headerClient().serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_ = session.FromContext(r.Context()).Set("a", 1)
	})
	if got := strings.Join(w.Header().Values("Cache-Control"), ", "); !strings.Contains(got, `no-cache="Session-Id"`) {
		t.Fatalf("got Cache-Control %q: a shared cache could hand this token to every new client", got)
	}
}

func TestAResponseThatReadTheSessionVaries(t *testing.T) {
	e := newEnv(t, session.Config{})
	w := e.client().do(http.MethodGet, "/get?k=user")
	if got := strings.Join(w.Header().Values("Vary"), ","); !strings.Contains(got, "Cookie") {
		t.Fatalf("got Vary %q: an anonymous page that read the session depends on the cookie", got)
	}
}

func TestNewRefusesAMaxTokenLengthShorterThanAToken(t *testing.T) {
	_, err := session.New(session.Config{Store: failingStore{}, Keys: []session.Key{testKey}, MaxTokenLength: 60})
	if err == nil || !strings.Contains(err.Error(), "MaxTokenLength") {
		t.Fatalf("got %v", err)
	}
}
