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

func TestRequireThenReadIsOneRoundTrip(t *testing.T) {
	e := newEnv(t, session.Config{TouchInterval: time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.store.Calls()
	c.serve(e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, _ = session.Get[int](session.FromContext(r.Context()), "a")
	})).ServeHTTP)
	if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load"}) {
		t.Fatalf("got %v, want [Load]", calls)
	}
}

func TestExpiredSessionTells(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.clock.Advance(21 * time.Minute)

	t.Run("a required route answers session_expired and leaves the cookie, which expires with its session", func(t *testing.T) {
		w := c.do(http.MethodGet, "/required")
		if w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_expired"`) {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
		// Deleting it could delete the cookie a concurrent login of the
		// same browser just set (TestARequestInFlightDuringALogin...).
		if ck := cookieOf(w, "session"); ck != nil {
			t.Fatalf("got cookie %v, want none", ck)
		}
	})
	t.Run("without a token it answers session_required", func(t *testing.T) {
		w := e.client().do(http.MethodGet, "/required")
		if w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_required"`) {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
	t.Run("a live session passes", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		if got := c.get("/required"); got != "in" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("a session ended by the server answers session_expired on its next request", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		if _, err := e.mem.Delete(t.Context(), tokenID(t, e, c.token)); err != nil {
			t.Fatal(err)
		}
		w := c.do(http.MethodGet, "/required")
		if w.Code != http.StatusUnauthorized || !contains(w.Body.String(), `"error":"session_expired"`) {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
}

func TestOutsideTheMiddleware(t *testing.T) {
	var reported error
	e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = err }})
	for name, h := range map[string]http.Handler{
		"Require":      e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})),
		"CloseHandler": e.m.CloseHandler(),
	} {
		t.Run(name+" answers 500 and reports the misconfiguration", func(t *testing.T) {
			reported = nil
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
			if w.Code != http.StatusInternalServerError || !errors.Is(reported, session.ErrNoMiddleware) {
				t.Fatalf("got %d and OnError %v, want 500 and ErrNoMiddleware", w.Code, reported)
			}
		})
	}
}
