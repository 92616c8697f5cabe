package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// subscribe subscribes to m's events until the test ends, and returns
// next, which answers the next event or fails the test when none comes
// within 5 s.
func subscribe(t *testing.T, m *session.Manager) (next func(t *testing.T) session.Event) {
	t.Helper()
	events := make(chan session.Event, 10)
	cancel, err := m.Subscribe(func(e session.Event) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return func(t *testing.T) session.Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
			return session.Event{}
		}
	}
}

func TestSubscribe(t *testing.T) {
	clock := fakeclock.New()
	st := memstore.New(memstore.Config{Now: clock.Now})
	defer st.Close()
	// Two servers of a farm: a publishes, b listens.
	a := newEnv(t, session.Config{Store: st, Now: clock.Now, PublishEvents: true})
	b := newEnv(t, session.Config{Store: st, Now: clock.Now})
	next := subscribe(t, b.m)

	c := a.client()
	c.get("/login?u=ann")
	id := tokenID(t, a, c.token)
	c.do(http.MethodPost, "/close")
	if e := next(t); e.Kind != session.EventDestroyed || e.ID != id || e.User != "ann" || e.Reason != string(session.ReasonLogout) {
		t.Fatalf("got %+v, want ann's logout", e)
	}

	c = a.client()
	c.get("/set?k=a&v=1")
	id = tokenID(t, a, c.token)
	clock.Advance(time.Hour)
	if _, err := a.m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e := next(t); e.Kind != session.EventExpired || e.ID != id {
		t.Fatalf("got %+v, want the expiry", e)
	}
}

func TestOnDestroyed(t *testing.T) {
	t.Run("fires for a logout with the reason, not for a session that was gone", func(t *testing.T) {
		var ended []session.Ended
		e := newEnv(t, session.Config{OnDestroyed: func(ctx context.Context, x session.Ended) error {
			ended = append(ended, x)
			return nil
		}})
		c := e.client()
		c.get("/login?u=ann")
		handle := ""
		c.serve(func(w http.ResponseWriter, r *http.Request) { handle = session.FromContext(r.Context()).Handle() })
		c.do(http.MethodPost, "/close")
		if len(ended) != 1 || ended[0].Reason != session.ReasonLogout || ended[0].User != "ann" || ended[0].Handle != handle {
			t.Fatalf("got %+v, want one logout of ann's session", ended)
		}
		gone := e.client()
		gone.get("/set?k=a&v=1")
		if _, err := e.mem.Delete(t.Context(), tokenID(t, e, gone.token)); err != nil {
			t.Fatal(err)
		}
		gone.do(http.MethodPost, "/close")
		if len(ended) != 1 {
			t.Fatalf("got %+v, want no event for a session that was already gone", ended)
		}
	})
	t.Run("a hook that panics is reported and the logout still answers 204", func(t *testing.T) {
		var reported []error
		e := newEnv(t, session.Config{
			OnError:     func(r *http.Request, err error) { reported = append(reported, err) },
			OnDestroyed: func(context.Context, session.Ended) error { panic("boom") },
		})
		c := e.client()
		c.get("/set?k=a&v=1")
		if w := c.do(http.MethodPost, "/close"); w.Code != http.StatusNoContent {
			t.Fatalf("got %d, want 204", w.Code)
		}
		if len(reported) != 1 || !contains(reported[0].Error(), "boom") {
			t.Fatalf("OnError got %v, want the panic", reported)
		}
		if got := c.get("/get?k=a"); got != "absent" {
			t.Fatalf("after the logout got %s, want absent", got)
		}
	})
}

// removeAnswerLost is a memstore whose first Remove is carried out but
// answers an error, as a connection that drops after Redis ran the command
// does.
type removeAnswerLost struct {
	*memstore.Store
	lost bool
}

func (r *removeAnswerLost) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	info, found, err := r.Store.Remove(ctx, id)
	if err == nil && !r.lost {
		r.lost = true
		return store.Info{}, false, errors.New("connection reset after the command")
	}
	return info, found, err
}

// TestOnDestroyedAfterARetriedLogout: with OnStoreError asking for a
// retry, a logout whose first Remove ended the session but lost its answer
// is tried again, finds nothing, and answers 204. The session was ended on
// purpose, once: OnDestroyed must fire, and the farm hear of it (to close
// its websockets). The user is known only from the lost answer, or from a
// session the request read: this logout read nothing.
func TestOnDestroyedAfterARetriedLogout(t *testing.T) {
	clock := fakeclock.New()
	mem := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { mem.Close() })
	st := &removeAnswerLost{Store: mem, lost: true}
	var ended []session.Ended
	e := newEnv(t, session.Config{
		Store:        st,
		Now:          clock.Now,
		OnStoreError: func(*http.Request, string, error) bool { return true },
		OnDestroyed: func(ctx context.Context, x session.Ended) error {
			ended = append(ended, x)
			return nil
		},
	})
	c := e.client()
	c.get("/login?u=ann")
	st.lost = false
	if w := c.do(http.MethodPost, "/close"); w.Code != http.StatusNoContent {
		t.Fatalf("logout: got %d, want 204", w.Code)
	}
	if got := c.get("/user"); got != "" {
		t.Fatalf("after the logout the session still has user %q", got)
	}
	if len(ended) != 1 || ended[0].Reason != session.ReasonLogout || ended[0].Handle == "" {
		t.Errorf("OnDestroyed got %+v, want the logout once", ended)
	}
}

func TestNoIDInLoggedHookErrors(t *testing.T) {
	// The hooks are given the session ID, and their errors and panics go to
	// OnError, whose default logs them: an ID a hook quotes is redacted,
	// as OnError promises ("IDs and tokens are never in the message").
	var logs bytes.Buffer
	ids := map[string]bool{}
	e := newEnv(t, session.Config{
		IdleTimeout: 20 * time.Minute,
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		OnCreated: func(ctx context.Context, s *session.Session) error {
			ids[s.ID()] = true
			return fmt.Errorf("save the defaults of %s: disk full", s.ID())
		},
		OnDestroyed: func(ctx context.Context, x session.Ended) error {
			return fmt.Errorf("archive %s: disk full", x.ID)
		},
		OnExpired: func(ctx context.Context, x session.Expiry) error {
			panic("no cart for " + x.ID)
		},
	})
	ann, bob := e.client(), e.client()
	ann.get("/set?k=a&v=1")
	bob.get("/set?k=a&v=1")
	ann.do(http.MethodPost, "/close")
	e.clock.Advance(21 * time.Minute)
	if _, err := e.m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"OnCreated", "OnDestroyed", "OnExpired", "[session ID]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if len(ids) != 2 {
		t.Fatalf("OnCreated saw %d sessions, want 2", len(ids))
	}
	for id := range ids {
		if n := strings.Count(out, id); n > 0 {
			t.Errorf("the log holds the session ID %s %d times", id, n)
		}
	}
}

// A destroy's event reaches the farm even when OnDestroyed used up its own
// StoreTimeout: the publish is a store call of its own, with a bound of its
// own, not what the hook left of one.
func TestDestroyEventOutlivesASlowOnDestroyed(t *testing.T) {
	e := newEnv(t, session.Config{StoreTimeout: time.Millisecond, PublishEvents: true,
		OnDestroyed: func(ctx context.Context, _ session.Ended) error {
			<-ctx.Done() // a hook that takes all the time it is given
			return ctx.Err()
		}})
	next := subscribe(t, e.m)
	c := e.client()
	c.get("/set?k=a&v=1")
	c.get("/destroy")
	// Without an event, the publish got only what OnDestroyed left of its
	// StoreTimeout.
	if ev := next(t); ev.Kind != session.EventDestroyed {
		t.Errorf("got %v, want a destroy", ev.Kind)
	}
}
