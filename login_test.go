package session_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=cart&v=3")
	old := c.token
	oldID := tokenID(t, e, old)

	c.get("/login?u=ann&label=Firefox")
	t.Run("records the user under a new ID and keeps the values", func(t *testing.T) {
		if id := tokenID(t, e, c.token); id == "" || id == oldID {
			t.Fatalf("the ID did not change at login")
		}
		if got := c.get("/user"); got != "ann" {
			t.Fatalf("User: got %q, want ann", got)
		}
		if got := c.get("/get?k=cart"); got != "3" {
			t.Fatalf("cart: got %s, want 3", got)
		}
	})
	t.Run("the old ID is dead (session fixation)", func(t *testing.T) {
		attacker := &client{e: e, token: old}
		if got := attacker.get("/user"); got != "" {
			t.Fatalf("the planted token reads user %q", got)
		}
	})
	t.Run("the user is metadata, not a value the handler can forge or list", func(t *testing.T) {
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if keys, _ := s.Keys(); !slices.Equal(keys, []string{"cart"}) {
				t.Errorf("Keys: got %v, want [cart]", keys)
			}
			if _, err := s.Get("@user", new(string)); !errors.Is(err, session.ErrInvalidKey) {
				t.Errorf("Get(@user): got %v, want ErrInvalidKey", err)
			}
			if err := s.Set("@user", "mallory"); !errors.Is(err, session.ErrInvalidKey) {
				t.Errorf("Set(@user): got %v, want ErrInvalidKey", err)
			}
			s.Delete("@user")
			s.Clear()
		})
		if got := c.get("/user"); got != "ann" {
			t.Fatalf("after Delete(@user) and Clear: User got %q, want ann", got)
		}
	})
	t.Run("a login on a client without a session stores one with the user", func(t *testing.T) {
		fresh := e.client()
		fresh.get("/login?u=bob")
		if got := fresh.get("/user"); got != "bob" {
			t.Fatalf("User: got %q, want bob", got)
		}
	})
	t.Run("a bad user name is refused", func(t *testing.T) {
		for _, u := range []string{"", string(make([]byte, 257)), "\xff"} {
			c.serve(func(w http.ResponseWriter, r *http.Request) {
				if err := session.FromContext(r.Context()).Login(u, ""); !errors.Is(err, session.ErrInvalidKey) {
					t.Errorf("Login(%q): got %v, want ErrInvalidKey", u, err)
				}
			})
		}
	})
}

func TestUserSessions(t *testing.T) {
	var ended []session.Ended
	e := newEnv(t, session.Config{OnDestroyed: func(ctx context.Context, x session.Ended) error {
		ended = append(ended, x)
		return nil
	}})
	devices := make([]*client, 3)
	for i, label := range []string{"phone", "laptop", "tablet"} {
		devices[i] = e.client()
		devices[i].get("/login?u=ann&label=" + label)
		e.clock.Advance(time.Second)
	}
	bob := e.client()
	bob.get("/login?u=bob")

	var current string
	devices[1].serve(func(w http.ResponseWriter, r *http.Request) {
		current = session.FromContext(r.Context()).Handle()
	})
	t.Run("lists the user's sessions, oldest first, by handle", func(t *testing.T) {
		list, err := e.m.UserSessions(t.Context(), "ann")
		if err != nil || len(list) != 3 {
			t.Fatalf("got %d sessions, %v, want 3", len(list), err)
		}
		for i, label := range []string{"phone", "laptop", "tablet"} {
			if list[i].Label != label || list[i].User != "ann" || list[i].Handle == "" {
				t.Errorf("session %d: got %+v, want ann's %s", i, list[i], label)
			}
		}
		if list[1].Handle != current {
			t.Errorf("the laptop's handle %q is not the one its request sees, %q", list[1].Handle, current)
		}
		for _, in := range list {
			if in.Handle == tokenID(t, e, devices[0].token) {
				t.Fatal("a handle is the session ID")
			}
		}
	})
	t.Run("log out everywhere else keeps the current session", func(t *testing.T) {
		var n int
		devices[1].serve(func(w http.ResponseWriter, r *http.Request) {
			var err error
			n, err = e.m.DestroyUser(r.Context(), "ann", session.FromContext(r.Context()))
			if err != nil {
				t.Errorf("DestroyUser: %v", err)
			}
		})
		if n != 2 {
			t.Fatalf("ended %d sessions, want 2", n)
		}
		if got := devices[1].get("/user"); got != "ann" {
			t.Fatalf("the current session: got user %q, want ann", got)
		}
		for _, d := range []*client{devices[0], devices[2]} {
			if w := d.do(http.MethodGet, "/required"); w.Code != http.StatusUnauthorized || !contains(w.Body.String(), "session_expired") {
				t.Errorf("another device got %d %s, want 401 session_expired", w.Code, w.Body)
			}
		}
		if len(ended) != 2 || ended[0].Reason != session.ReasonLogoutEverywhere || ended[0].User != "ann" {
			t.Errorf("OnDestroyed got %+v, want two for ann with reason logout_everywhere", ended)
		}
		if got := bob.get("/user"); got != "bob" {
			t.Errorf("another user's session: got %q, want bob", got)
		}
		if list, _ := e.m.UserSessions(t.Context(), "ann"); len(list) != 1 {
			t.Errorf("ann lists %d sessions, want 1", len(list))
		}
	})
}

func TestMaxUserSessions(t *testing.T) {
	t.Run("EvictOldest ends the oldest to make room", func(t *testing.T) {
		var ended []session.Ended
		e := newEnv(t, session.Config{MaxUserSessions: 2, OnDestroyed: func(ctx context.Context, x session.Ended) error {
			ended = append(ended, x)
			return nil
		}})
		clients := make([]*client, 3)
		for i := range clients {
			clients[i] = e.client()
			clients[i].get("/login?u=ann")
			e.clock.Advance(time.Second)
		}
		if got := clients[0].get("/user"); got != "" {
			t.Fatalf("the oldest session still has user %q", got)
		}
		for _, c := range clients[1:] {
			if got := c.get("/user"); got != "ann" {
				t.Fatalf("a newer session got user %q, want ann", got)
			}
		}
		if len(ended) != 1 || ended[0].Reason != session.ReasonEvicted {
			t.Fatalf("OnDestroyed got %+v, want one eviction", ended)
		}
	})
	t.Run("RefuseLogin answers 403 and keeps the others", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxUserSessions: 2, UserLimit: session.RefuseLogin})
		for range 2 {
			e.client().get("/login?u=ann")
		}
		c := e.client()
		c.get("/set?k=cart&v=1")
		if w := c.do(http.MethodPost, "/login?u=ann"); w.Code != http.StatusForbidden {
			t.Fatalf("got %d %s, want 403", w.Code, w.Body)
		}
		if got := c.get("/get?k=cart"); got != "1" {
			t.Fatalf("the refused client's session: got cart=%s, want 1", got)
		}
		if list, _ := e.m.UserSessions(t.Context(), "ann"); len(list) != 2 {
			t.Fatalf("ann has %d sessions, want 2", len(list))
		}
	})
}

// A Clear removes the application's values and keeps the login, in the
// request that clears as in the store, whether the login came before the
// Clear in the same request or after it.
func TestClearKeepsTheLogin(t *testing.T) {
	e := newEnv(t, session.Config{})
	// userOf returns the user and label the store lists c's session under.
	userOf := func(c *client) (user, label string) {
		t.Helper()
		var handle string
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			handle = session.FromContext(r.Context()).Handle()
		})
		list, err := e.m.UserSessions(t.Context(), c.get("/user"))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			if in.Handle == handle {
				return in.User, in.Label
			}
		}
		return "", ""
	}
	t.Run("a Login, then a Clear", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if err := s.Login("bob", "laptop"); err != nil {
				t.Fatal(err)
			}
			s.Clear()
			if user, err := s.User(); user != "bob" || err != nil {
				t.Errorf("User after the Clear, in the request: got %q, %v, want bob", user, err)
			}
		})
		if user, label := userOf(c); user != "bob" || label != "laptop" {
			t.Errorf("stored: got user %q, label %q, want bob on laptop", user, label)
		}
		if keys := c.get("/keys"); keys != "" {
			t.Errorf("keys after the Clear: got %q, want none", keys)
		}
	})
	t.Run("a Clear, then a Login without a label", func(t *testing.T) {
		c := e.client()
		c.get("/login?u=ann&label=phone")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			s.Clear()
			if err := s.Login("carol", ""); err != nil {
				t.Fatal(err)
			}
		})
		if user, label := userOf(c); user != "carol" || label != "" {
			t.Errorf("stored: got user %q, label %q, want carol and no label: ann's label stayed", user, label)
		}
	})
}
