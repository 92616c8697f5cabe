package session_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
)

// expiries records what OnExpired saw, and can be told to fail.
type expiries struct {
	mu   sync.Mutex // protects got and fail
	got  []session.Expiry
	fail error
}

func (x *expiries) hook(ctx context.Context, e session.Expiry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.fail != nil {
		return x.fail
	}
	x.got = append(x.got, e)
	return nil
}

func (x *expiries) take() []session.Expiry {
	x.mu.Lock()
	defer x.mu.Unlock()
	got := x.got
	x.got = nil
	return got
}

func TestOnExpired(t *testing.T) {
	t.Run("fires once, with the values and the user, never for a destroy", func(t *testing.T) {
		var x expiries
		destroyed := 0
		e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, OnExpired: x.hook, OnDestroyed: func(context.Context, session.Ended) error {
			destroyed++
			return nil
		}})
		c := e.client()
		c.get("/set?k=cart&v=3")
		c.get("/login?u=ann")
		logout := e.client()
		logout.get("/set?k=a&v=1")
		logout.do(http.MethodPost, "/close")
		e.clock.Advance(21 * time.Minute)
		n, err := e.m.Reap(t.Context())
		if err != nil || n != 1 {
			t.Fatalf("Reap: got %d, %v, want 1", n, err)
		}
		got := x.take()
		if len(got) != 1 || got[0].User != "ann" || got[0].ValuesLost {
			t.Fatalf("OnExpired got %+v, want ann's session", got)
		}
		var cart int
		if ok, err := got[0].Get("cart", &cart); !ok || err != nil || cart != 3 {
			t.Fatalf("the expired session's cart: got %d %v %v, want 3", cart, ok, err)
		}
		if _, meta := got[0].Values["@user"]; meta {
			t.Fatal("the metadata is among the values")
		}
		if n, _ := e.m.Reap(t.Context()); n != 0 || len(x.take()) != 0 {
			t.Fatal("an expiry fired twice")
		}
		if destroyed != 1 {
			t.Fatalf("OnDestroyed fired %d times, want once (the logout, not the timeout)", destroyed)
		}
	})
	t.Run("a hook that fails gets the expiry again after ReapLease, and once it succeeds never again", func(t *testing.T) {
		var x expiries
		var reported []error
		e := newEnv(t, session.Config{OnExpired: x.hook, ReapLease: time.Minute, OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
		e.client().get("/set?k=a&v=1")
		e.clock.Advance(time.Hour)
		x.fail = errors.New("the mail server is down")
		if n, _ := e.m.Reap(t.Context()); n != 0 || len(reported) != 1 {
			t.Fatalf("Reap with a failing hook: handled %d, reported %v", n, reported)
		}
		x.fail = nil
		if n, _ := e.m.Reap(t.Context()); n != 0 {
			t.Fatal("the expiry came back before its lease ran out")
		}
		e.clock.Advance(2 * time.Minute)
		if n, _ := e.m.Reap(t.Context()); n != 1 || len(x.take()) != 1 {
			t.Fatal("the expiry did not come back after its lease")
		}
		e.clock.Advance(2 * time.Minute)
		if n, _ := e.m.Reap(t.Context()); n != 0 || len(x.take()) != 0 {
			t.Fatal("a handled expiry fired again")
		}
	})
	t.Run("a hook that panics is reported and the expiry comes back", func(t *testing.T) {
		var reported []error
		calls := 0
		e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) },
			OnExpired: func(context.Context, session.Expiry) error {
				calls++
				if calls == 1 {
					panic("boom")
				}
				return nil
			}})
		e.client().get("/set?k=a&v=1")
		e.clock.Advance(time.Hour)
		if _, err := e.m.Reap(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(reported) != 1 || !contains(reported[0].Error(), "boom") {
			t.Fatalf("OnError got %v, want the panic", reported)
		}
		e.clock.Advance(2 * time.Minute)
		if n, _ := e.m.Reap(t.Context()); n != 1 || calls != 2 {
			t.Fatalf("after the panic: handled %d in %d calls, want the expiry again", n, calls)
		}
	})
	t.Run("managers sharing a store fire each expiry once between them", func(t *testing.T) {
		clock := fakeclock.New()
		st := memstore.New(memstore.Config{Now: clock.Now})
		defer st.Close()
		var x expiries
		managers := make([]*session.Manager, 3)
		for i := range managers {
			m, err := session.New(session.Config{Store: st, Keys: []session.Key{testKey}, Now: clock.Now, OnExpired: x.hook, ReapInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			managers[i] = m
		}
		e := newEnv(t, session.Config{Store: st, Now: clock.Now})
		for range 300 {
			e.client().get("/set?k=a&v=1")
		}
		clock.Advance(time.Hour)
		var wg sync.WaitGroup
		for _, m := range managers {
			wg.Go(func() {
				if _, err := m.Reap(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, got := range x.take() {
			seen[got.ID]++
		}
		if len(seen) != 300 {
			t.Fatalf("%d sessions expired, want 300", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("session %.4s… fired %d times", id, n)
			}
		}
	})
}
