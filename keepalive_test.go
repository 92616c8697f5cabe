package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

func TestKeepAliveHandler(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, TouchInterval: time.Minute})
	keepAlive := e.m.Handler(e.m.KeepAliveHandler())
	post := func(c *client) *httptest.ResponseRecorder {
		t.Helper()
		e.store.Calls()
		return c.doWith(keepAlive, http.MethodPost, "/keepalive")
	}
	// started returns a header client whose session holds a=1.
	started := func() *client {
		t.Helper()
		c := e.headerClient()
		c.get("/set?k=a&v=1")
		return c
	}

	t.Run("a session whose touch is due is renewed in one round trip", func(t *testing.T) {
		c := started()
		old := c.token
		e.clock.Advance(19 * time.Minute)
		w := post(c)
		if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
			t.Fatalf("got %d %q, want 204 and no body", w.Code, w.Body)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load+touch"}) {
			t.Fatalf("got store calls %v, want [Load+touch]: one load that renews", calls)
		}
		if got, want := w.Header().Get(session.HeaderExpires), expiresHeader(e.clock.Now().Add(20*time.Minute)); got != want {
			t.Fatalf("got Session-Expires %q, want %q", got, want)
		}
		if c.token == old || c.token == "" {
			t.Fatal("the renewal issued no new token")
		}
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Fatalf("got Cache-Control %q, want no-store", got)
		}
		e.clock.Advance(2 * time.Minute) // past the expiry before the renewal
		if got := c.get("/get?k=a"); got != "1" {
			t.Fatalf("after the old expiry the session reads %q, want it alive with a=1", got)
		}
	})

	t.Run("a token younger than TouchInterval keeps its expiry, still in one round trip", func(t *testing.T) {
		c := started()
		expires := c.last.Header().Get(session.HeaderExpires)
		e.clock.Advance(30 * time.Second)
		w := post(c)
		if w.Code != http.StatusNoContent {
			t.Fatalf("got %d, want 204", w.Code)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load"}) {
			t.Fatalf("got store calls %v, want [Load]", calls)
		}
		if _, reissued := w.Header()[session.HeaderID]; reissued || w.Header().Get(session.HeaderExpires) != expires {
			t.Fatalf("got Session-Id %q and Session-Expires %q, want no new token and %q",
				w.Header().Get(session.HeaderID), w.Header().Get(session.HeaderExpires), expires)
		}
	})

	t.Run("a session the server ended answers session_expired and no session is created", func(t *testing.T) {
		c := started()
		if _, err := e.mem.Delete(t.Context(), tokenID(t, e, c.token)); err != nil {
			t.Fatal(err)
		}
		w := post(c)
		if w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_expired"`) {
			t.Fatalf("got %d %s, want 401 session_expired", w.Code, w.Body)
		}
		if v, ok := w.Header()[session.HeaderID]; !ok || v[0] != "" {
			t.Fatalf("got Session-Id %v, want an empty one: the token is of no use", v)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load"}) {
			t.Fatalf("got store calls %v, want [Load] and no Create", calls)
		}
	})

	t.Run("a session that timed out answers session_expired", func(t *testing.T) {
		c := started()
		e.clock.Advance(21 * time.Minute)
		if w := post(c); w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_expired"`) {
			t.Fatalf("got %d %s, want 401 session_expired", w.Code, w.Body)
		}
	})

	t.Run("without a token it answers session_required with no store call and no cookie", func(t *testing.T) {
		w := post(e.client())
		if w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_required"`) {
			t.Fatalf("got %d %s, want 401 session_required", w.Code, w.Body)
		}
		if calls := e.store.Calls(); len(calls) != 0 {
			t.Fatalf("got store calls %v, want none", calls)
		}
		if ck := cookieOf(w, e.m.CookieName()); ck != nil {
			t.Fatalf("got cookie %v, want none", ck)
		}
	})

	t.Run("a cookie client's cookie moves with the renewed expiry", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		e.clock.Advance(19 * time.Minute)
		w := post(c)
		ck := cookieOf(w, e.m.CookieName())
		if w.Code != http.StatusNoContent || ck == nil {
			t.Fatalf("got %d and cookie %v, want 204 and a renewed cookie", w.Code, ck)
		}
		if want := e.clock.Now().Add(20 * time.Minute); !ck.Expires.Equal(want.Truncate(time.Second)) {
			t.Fatalf("the cookie expires %v, want %v", ck.Expires, want)
		}
	})

	t.Run("other methods get 405 without a store call", func(t *testing.T) {
		c := started()
		e.store.Calls()
		w := c.doWith(keepAlive, http.MethodGet, "/keepalive")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Fatalf("got %d, Allow %q; want 405, Allow POST", w.Code, w.Header().Get("Allow"))
		}
		if calls := e.store.Calls(); len(calls) != 0 {
			t.Fatalf("got store calls %v, want none", calls)
		}
	})

	t.Run("outside the middleware it answers 500 and reports the misconfiguration", func(t *testing.T) {
		var reported error
		e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = err }})
		w := httptest.NewRecorder()
		e.m.KeepAliveHandler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/keepalive", nil))
		if w.Code != http.StatusInternalServerError || !errors.Is(reported, session.ErrNoMiddleware) {
			t.Fatalf("got %d and OnError %v, want 500 and ErrNoMiddleware", w.Code, reported)
		}
	})
}
