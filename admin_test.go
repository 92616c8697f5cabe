package session_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

func TestAdministration(t *testing.T) {
	var ended []session.Ended
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, OnDestroyed: func(ctx context.Context, x session.Ended) error {
		ended = append(ended, x)
		return nil
	}})
	clients := make([]*client, 5)
	for i := range clients {
		clients[i] = e.client()
		clients[i].get("/set?k=n&v=" + strconv.Itoa(i))
	}
	clients[0].get("/login?u=ann")

	t.Run("Count counts live sessions", func(t *testing.T) {
		if n, err := e.m.Count(t.Context()); n != 5 || err != nil {
			t.Fatalf("got %d, %v, want 5", n, err)
		}
	})
	t.Run("Sessions lists each live session once, by handle", func(t *testing.T) {
		seen := map[string]bool{}
		users := 0
		for info, err := range e.m.Sessions(t.Context()) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[info.Handle] || info.Handle == "" {
				t.Fatalf("handle %q listed twice or empty", info.Handle)
			}
			seen[info.Handle] = true
			if info.User == "ann" {
				users++
			}
			if info.Expires.IsZero() || info.Created.IsZero() {
				t.Errorf("got %+v, want its created and expiry times", info)
			}
		}
		if len(seen) != 5 || users != 1 {
			t.Fatalf("listed %d sessions, %d of ann's, want 5 and 1", len(seen), users)
		}
	})
	handleOf := func(c *client) string {
		var h string
		c.serve(func(w http.ResponseWriter, r *http.Request) { h = session.FromContext(r.Context()).Handle() })
		return h
	}
	t.Run("Peek reads a session's values without renewing it", func(t *testing.T) {
		e.clock.Advance(5 * time.Minute)
		snap, found, err := e.m.Peek(t.Context(), handleOf(clients[2]))
		if err != nil || !found {
			t.Fatalf("Peek: got %v, %v", found, err)
		}
		var n int
		if ok, err := snap.Get("n", &n); !ok || err != nil || n != 2 {
			t.Fatalf("Get n: got %d %v %v, want 2", n, ok, err)
		}
		before := snap.Expires
		if snap, _, _ := e.m.Peek(t.Context(), handleOf(clients[2])); !snap.Expires.Equal(before) {
			t.Fatalf("a Peek moved the expiry from %v to %v", before, snap.Expires)
		}
		if _, found, err := e.m.Peek(t.Context(), "not-a-handle"); found || err != nil {
			t.Fatalf("Peek of garbage: got %v, %v, want not found", found, err)
		}
	})
	t.Run("Destroy ends a session: its next request answers session_expired", func(t *testing.T) {
		found, err := e.m.Destroy(t.Context(), handleOf(clients[0]))
		if err != nil || !found {
			t.Fatalf("Destroy: got %v, %v", found, err)
		}
		if w := clients[0].do(http.MethodGet, "/required"); w.Code != http.StatusUnauthorized || !contains(w.Body.String(), "session_expired") {
			t.Fatalf("got %d %s, want 401 session_expired", w.Code, w.Body)
		}
		if len(ended) != 1 || ended[0].Reason != session.ReasonAdmin || ended[0].User != "ann" {
			t.Fatalf("OnDestroyed got %+v, want ann's, reason admin", ended)
		}
		if found, _ := e.m.Destroy(t.Context(), handleOf(clients[1])+""); !found {
			t.Fatal("a second session was not found")
		}
	})
	t.Run("Clear ends every session", func(t *testing.T) {
		ended = nil
		n, err := e.m.Clear(t.Context(), false)
		if err != nil || n != 3 {
			t.Fatalf("Clear: got %d, %v, want 3", n, err)
		}
		if n, _ := e.m.Count(t.Context()); n != 0 {
			t.Fatalf("Count after Clear: got %d, want 0", n)
		}
		if len(ended) != 3 || ended[0].Reason != session.ReasonCleared {
			t.Fatalf("OnDestroyed got %+v, want three with reason cleared", ended)
		}
	})
}

func TestAdministrationNeedsAnIndex(t *testing.T) {
	e := newEnv(t, session.Config{Store: failingStore{errDown}})
	if _, err := e.m.Count(t.Context()); !errors.Is(err, store.ErrNotIndexed) {
		t.Fatalf("Count on a store without an index: got %v, want ErrNotIndexed", err)
	}
	if _, err := session.New(session.Config{Store: failingStore{errDown}, Keys: []session.Key{testKey}, OnExpired: func(context.Context, session.Expiry) error { return nil }}); err == nil || !contains(err.Error(), "store.Expirer") {
		t.Fatalf("New with OnExpired on a store that keeps no expired sessions: got %v, want an error naming store.Expirer", err)
	}
	e.m.Close()
	if _, err := e.m.Count(t.Context()); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Count after Close: got %v, want ErrClosed", err)
	}
}

// afterUserSessions is a memstore that runs hook once, right after a
// UserSessions call has read the index: another request that comes in
// between the listing and the removals of DestroyUser.
type afterUserSessions struct {
	*memstore.Store
	hook func()
}

func (a *afterUserSessions) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	infos, err := a.Store.UserSessions(ctx, user)
	if hook := a.hook; hook != nil {
		a.hook = nil
		hook()
	}
	return infos, err
}

// TestDestroyUserRacingARenew: "log out everywhere" (after a password
// change, say) while one of the user's devices renews its session ID
// (Renew at a privilege change). The device's session was live before
// DestroyUser and is live after it: it must be ended. DestroyUser lists
// the old ID, the renewal moves the session to a new one, and the removal
// of the old ID finds nothing: the device stays logged in.
func TestDestroyUserRacingARenew(t *testing.T) {
	clock := fakeclock.New()
	mem := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { mem.Close() })
	st := &afterUserSessions{Store: mem}
	e := newEnv(t, session.Config{Store: st, Now: clock.Now})
	phone := e.client()
	phone.get("/login?u=ann")
	st.hook = func() { phone.get("/renew") }

	n, err := e.m.DestroyUser(t.Context(), "ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := phone.get("/user"); got == "ann" {
		t.Errorf("after DestroyUser (which ended %d sessions) the phone is still logged in as %q, want logged out", n, got)
	}
	if list, _ := e.m.UserSessions(t.Context(), "ann"); len(list) != 0 {
		t.Errorf("after DestroyUser ann still has %d session(s), want none", len(list))
	}
}
