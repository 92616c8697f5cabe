package session_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

func TestSlidingExpiry(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")

	t.Run("requests keep an active session alive past the idle timeout", func(t *testing.T) {
		for range 5 {
			e.clock.Advance(15 * time.Minute)
			if got := c.get("/get?k=a"); got != "1" {
				t.Fatalf("after %v of activity got %q, want 1", 15*time.Minute, got)
			}
		}
	})
	t.Run("a session idle longer than the timeout is gone", func(t *testing.T) {
		e.clock.Advance(20*time.Minute + time.Millisecond)
		if got := c.get("/get?k=a"); got != "absent" {
			t.Fatalf("got %q, want absent", got)
		}
	})
	t.Run("requests that do not read still renew the session once a touch is due", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		for range 3 {
			e.clock.Advance(19 * time.Minute)
			c.get("/noop")
		}
		if got := c.get("/get?k=a"); got != "1" {
			t.Fatalf("got %q, want 1", got)
		}
	})
}

func TestTouchThrottling(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, TouchInterval: time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.store.Calls()

	t.Run("within the touch interval an untouched session costs no store call and no cookie", func(t *testing.T) {
		e.clock.Advance(59 * time.Second)
		w := c.do(http.MethodGet, "/noop")
		if calls := e.store.Calls(); len(calls) != 0 || cookieOf(w, "session") != nil {
			t.Fatalf("got calls %v, cookie %v", calls, cookieOf(w, "session"))
		}
	})
	t.Run("a read within the interval loads without touching", func(t *testing.T) {
		c.get("/get?k=a")
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load"}) {
			t.Fatalf("got %v, want [Load]", calls)
		}
	})
	t.Run("once the interval has passed the touch rides on the load", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		w := c.do(http.MethodGet, "/get?k=a")
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load+touch"}) {
			t.Fatalf("got %v, want [Load+touch]", calls)
		}
		if ck := cookieOf(w, "session"); ck == nil || !ck.Expires.Equal(e.clock.Now().Add(20*time.Minute)) {
			t.Fatalf("got cookie %v, want a renewed one", ck)
		}
	})
	t.Run("a write within the interval keeps the token; after it, re-issues it", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		first := c.token
		e.clock.Advance(30 * time.Second)
		w := c.do(http.MethodGet, "/set?k=b&v=2")
		if cookieOf(w, "session") != nil || c.token != first {
			t.Fatalf("a write 30s after issue re-issued the token: %v", cookieOf(w, "session"))
		}
		if got := w.Header().Get(session.HeaderExpires); got != expiresHeader(e.clock.Now().Add(-30*time.Second+20*time.Minute)) {
			t.Fatalf("got Session-Expires %q, want the token's own expiry", got)
		}
		e.clock.Advance(31 * time.Second)
		w = c.do(http.MethodGet, "/set?k=b&v=3")
		if ck := cookieOf(w, "session"); ck == nil || !ck.Expires.Equal(e.clock.Now().Add(20*time.Minute)) {
			t.Fatalf("got cookie %v, want a new one expiring 20m from now", ck)
		}
		if got := c.get("/keys"); got != "a,b" {
			t.Fatalf("got keys %q", got)
		}
	})
	t.Run("a session expires at most TouchInterval earlier than an exact sliding window", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1") // expiry T+20m
		e.clock.Advance(59 * time.Second)
		c.get("/noop") // no touch: the expiry stays T+20m, not T+20m59s
		e.clock.Advance(19*time.Minute + 2*time.Second)
		if got := c.get("/get?k=a"); got != "absent" {
			t.Fatalf("got %q, want absent (the untouched request did not extend it)", got)
		}
	})
	t.Run("a negative interval touches on every request", func(t *testing.T) {
		e := newEnv(t, session.Config{TouchInterval: -1})
		c := e.client()
		c.get("/set?k=a&v=1")
		e.store.Calls()
		c.get("/noop")
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Touch"}) {
			t.Fatalf("got %v, want [Touch]", calls)
		}
	})
}

func TestLifetime(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, Lifetime: time.Hour})
	c := e.client()
	c.get("/set?k=a&v=1")
	start := e.clock.Now()

	t.Run("the expiry never passes the absolute lifetime", func(t *testing.T) {
		for range 5 {
			e.clock.Advance(10 * time.Minute)
			c.get("/get?k=a")
		}
		w := c.do(http.MethodGet, "/set?k=b&v=2")
		if got := w.Header().Get(session.HeaderExpires); got != expiresHeader(start.Add(time.Hour)) {
			t.Fatalf("got Session-Expires %q, want the lifetime's end %v", got, start.Add(time.Hour))
		}
	})
	t.Run("Renew keeps the session's age", func(t *testing.T) {
		c.get("/renew")
		if got := c.get("/get?k=a"); got != "1" {
			t.Fatalf("got %q, want 1", got)
		}
		e.clock.Advance(10 * time.Minute)
		e.store.Calls()
		if got := c.get("/get?k=a"); got != "absent" {
			t.Fatalf("an active session past its lifetime got %q, want absent", got)
		}
		if calls := e.store.Calls(); len(calls) != 0 {
			t.Fatalf("got store calls %v, want none: the token alone shows the lifetime is over", calls)
		}
	})
}

// TestRenewAcrossTheLifetimeEnd renews at minute 9 of a 10-minute Lifetime
// and answers at minute 11: the old session ended on its own meanwhile, so
// its values must not live on under a new Lifetime.
func TestRenewAcrossTheLifetimeEnd(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, Lifetime: 10 * time.Minute})
	c := e.client()
	c.get("/set?k=cart&v=3")
	e.clock.Advance(9 * time.Minute)
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		e.clock.Advance(2 * time.Minute) // a slow login
		if err := s.Set("user", "ann"); err != nil {
			t.Fatalf("Set: %v", err)
		}
	})
	if got := c.get("/get?k=cart"); got != "absent" {
		t.Fatalf("cart: got %s, want absent: the old session's values outlived its Lifetime", got)
	}
	if got := c.get("/get?k=user"); got != `"ann"` {
		t.Fatalf("user: got %s, want the value set in the request, in a new session", got)
	}
}
