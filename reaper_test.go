package session_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
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

// TestReaperExpiryRacingATouch: a request that read the clock an instant
// before its session's expiry reaches the store after a reaper has claimed
// the session (on memstore it waited on the shard's lock, which the claim
// held; on Redis its script was on the wire). The session must end one way
// or the other: either the touch loses (the session is gone and OnExpired
// reports it), or the touch wins (the session lives on and OnExpired does
// not fire). Here it is both: OnExpired gets the values while the session
// keeps serving; on Redis the stale claim hands the live session out again
// every ReapLease; and when it expires for real OnExpired fires again.
func TestReaperExpiryRacingATouch(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		testExpiryRacingATouch(t, func(t *testing.T, now func() time.Time) store.Store {
			mem := memstore.New(memstore.Config{Now: now})
			t.Cleanup(func() { mem.Close() })
			return mem
		})
	})
	t.Run("redisstore", func(t *testing.T) {
		c := redistest.Client(t)
		prefix := redistest.Prefix(t)
		testExpiryRacingATouch(t, func(t *testing.T, now func() time.Time) store.Store {
			return redisstore.New(c, redisstore.Config{Prefix: prefix, Index: true, Now: now})
		})
	})
}

func testExpiryRacingATouch(t *testing.T, newStore func(t *testing.T, now func() time.Time) store.Store) {
	clock := fakeclock.New()
	race := newReaperRace(t, clock)
	var fired atomic.Int32
	e := newEnv(t, session.Config{
		Store:       newStore(t, race.now),
		Now:         clock.Now,
		IdleTimeout: 20 * time.Minute,
		ReapLease:   time.Minute,
		OnExpired: func(ctx context.Context, x session.Expiry) error {
			if fired.Add(1) == 1 {
				race.claim()
			}
			return nil
		},
	})
	m := e.m
	race.m = m
	c := e.client()
	c.get("/set?k=cart&v=3")
	clock.Advance(20*time.Minute - time.Millisecond)

	race.armed.Store(true)
	got := c.get("/get?k=cart") // a read with a touch due
	race.finish()
	if n := fired.Load(); got == "3" && n > 0 {
		t.Errorf("the request kept the session alive (read cart=%s) and OnExpired reported it expired %d time(s): want one or the other", got, n)
	}

	clock.Advance(2 * time.Minute) // past the claim's lease, long before the session's new expiry
	if _, err := m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := fired.Load(); n > 1 {
		t.Errorf("OnExpired fired %d times while the session was live (its claim's lease ran out), want at most once", n)
	}
	clock.Advance(21 * time.Minute)
	if _, err := m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := fired.Load(); n != 1 {
		t.Errorf("OnExpired fired %d times for one session, want exactly once", n)
	}
}

// A reaperRace puts a reaper's claim between a store's read of its clock
// and its reach of the data: once armed, the next read of now returns the
// request's instant, an instant before the expiry, after starting m.Reap
// with the clock past the expiry and waiting until its OnExpired calls
// claim. finish lets the hook return and waits for the reaper.
type reaperRace struct {
	t                        *testing.T
	clock                    *fakeclock.Clock
	m                        *session.Manager // set once the Manager exists
	armed                    atomic.Bool
	claimed, release, reaped chan struct{}
}

func newReaperRace(t *testing.T, clock *fakeclock.Clock) *reaperRace {
	return &reaperRace{t: t, clock: clock,
		claimed: make(chan struct{}), release: make(chan struct{}), reaped: make(chan struct{})}
}

// now is the store's clock.
func (r *reaperRace) now() time.Time {
	if !r.armed.CompareAndSwap(true, false) {
		return r.clock.Now()
	}
	before := r.clock.Now() // the request's instant: just before the expiry
	r.clock.Advance(time.Millisecond)
	go func() {
		defer close(r.reaped)
		if _, err := r.m.Reap(context.Background()); err != nil {
			r.t.Error(err)
		}
	}()
	<-r.claimed
	return before
}

// claim, called once from OnExpired, lets the store go on and holds the
// hook until finish.
func (r *reaperRace) claim() {
	close(r.claimed)
	<-r.release
}

// finish lets the hook return and waits for the reaper to end.
func (r *reaperRace) finish() {
	close(r.release)
	<-r.reaped
}

// TestReapLeaseCoversEachHook: ReapLease is "how long one server holds an
// expired session while its OnExpired runs; if the hook has not returned
// by then (the server died), another server gets it". A reaper claims 100
// sessions at once and runs their hooks one after the other, so the lease
// of the last ones runs out while the first hooks still run, and every
// session of the batch stays claimed, not reaped, until the last hook
// returns. With hooks of a second each (a call to another service), a
// second server that reaps meanwhile gets the same sessions again: each
// expiry fires on both servers, though no server died and no hook failed.
func TestReapLeaseCoversEachHook(t *testing.T) {
	clock := fakeclock.New()
	mem := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { mem.Close() })
	var (
		mu    sync.Mutex
		fired = map[string]int{}
		calls int
		b     *env
	)
	count := func(id string) {
		mu.Lock()
		defer mu.Unlock()
		fired[id]++
	}
	a := newEnv(t, session.Config{Store: mem, Now: clock.Now, ReapLease: time.Minute, OnExpired: func(ctx context.Context, x session.Expiry) error {
		count(x.ID)
		clock.Advance(time.Second) // the hook takes a second
		calls++
		if calls == 70 { // the other server's reaper runs its pass now
			if _, err := b.m.Reap(ctx); err != nil {
				t.Error(err)
			}
		}
		return nil
	}})
	b = newEnv(t, session.Config{Store: mem, Now: clock.Now, ReapLease: time.Minute, OnExpired: func(ctx context.Context, x session.Expiry) error {
		count(x.ID)
		return nil
	}})
	for range 100 {
		a.client().get("/set?k=a&v=1")
	}
	clock.Advance(21 * time.Minute)
	if _, err := a.m.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for _, n := range fired {
		if n != 1 {
			twice++
		}
	}
	if len(fired) != 100 || twice > 0 {
		t.Errorf("of %d expiries, %d fired more than once, want each exactly once: no server died, no hook failed", len(fired), twice)
	}
}

// TestReaperExpiryRacingALogout: as TestReaperExpiryRacingATouch, with a
// logout. OnDestroyed fires "never for a timeout" and OnExpired "for
// timeouts only": a session ends one way. A logout whose clock read came
// just before the expiry, and whose delete reaches Redis just after a
// reaper claimed the session, runs both.
func TestReaperExpiryRacingALogout(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	clock := fakeclock.New()
	race := newReaperRace(t, clock)
	var expired, destroyed atomic.Int32
	e := newEnv(t, session.Config{
		Store:       redisstore.New(c, redisstore.Config{Prefix: prefix, Index: true, Now: race.now}),
		Now:         clock.Now,
		IdleTimeout: 20 * time.Minute,
		OnExpired: func(ctx context.Context, x session.Expiry) error {
			expired.Add(1)
			race.claim()
			return nil
		},
		OnDestroyed: func(ctx context.Context, x session.Ended) error {
			destroyed.Add(1)
			return nil
		},
	})
	race.m = e.m
	cl := e.client()
	cl.get("/set?k=cart&v=3")
	clock.Advance(20*time.Minute - time.Millisecond)
	race.armed.Store(true)
	cl.do(http.MethodPost, "/close")
	race.finish()
	if d, x := destroyed.Load(), expired.Load(); d+x != 1 {
		t.Errorf("one session ended with %d OnDestroyed (logout) and %d OnExpired (timeout), want one of the two", d, x)
	}
}

// TestClosingSoonAfterNewReportsNoError: the reaper's first pass, which
// Close stops (ErrClosed, or a canceled context), is no error to report.
func TestClosingSoonAfterNewReportsNoError(t *testing.T) {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	var reported atomic.Int32
	for range 200 {
		m, err := session.New(session.Config{Store: st, Keys: []session.Key{testKey}, OnExpired: func(context.Context, session.Expiry) error { return nil }, OnError: func(_ *http.Request, err error) {
			reported.Add(1)
			t.Logf("OnError: %v", err)
		}})
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Close()
	}
	if n := reported.Load(); n != 0 {
		t.Fatalf("Close right after New reported %d error(s) to OnError, want none: the reaper's pass stopped by Close is no error", n)
	}
}

// hangingExpirer is a memstore whose ClaimExpired or Reap, once told to,
// waits for its context to end, as a store that stopped answering does.
type hangingExpirer struct {
	*memstore.Store
	claim, reap atomic.Bool
}

func (h *hangingExpirer) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	if h.claim.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Store.ClaimExpired(ctx, limit, lease)
}

func (h *hangingExpirer) Reap(ctx context.Context, ids ...string) error {
	if h.reap.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Store.Reap(ctx, ids...)
}

// A store that stops answering holds a reaping pass no longer than
// Config.StoreTimeout per call, as it holds a request: the reaper must not
// wait on it until Close.
func TestReapIsBoundedByStoreTimeout(t *testing.T) {
	clock := fakeclock.New()
	mem := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { mem.Close() })
	st := &hangingExpirer{Store: mem}
	var ex expiries
	e := newEnv(t, session.Config{Store: st, Now: clock.Now, StoreTimeout: time.Millisecond, IdleTimeout: time.Minute, OnExpired: ex.hook})
	for _, hang := range []*atomic.Bool{&st.claim, &st.reap} {
		e.client().get("/set?k=a&v=1")
		clock.Advance(2 * time.Minute)
		hang.Store(true)
		done := make(chan error, 1)
		go func() {
			_, err := e.m.Reap(context.Background())
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Reap on a store that hangs: got %v, want the StoreTimeout's deadline", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Reap still waits on a store that hangs, 10s on, with a StoreTimeout of 1ms")
		}
		hang.Store(false)
		if _, err := e.m.Reap(context.Background()); err != nil {
			t.Fatalf("Reap once the store answers again: %v", err)
		}
	}
}

// OnExpired may be slow: its context is the reaper's, governed by the lease,
// and carries no StoreTimeout deadline.
func TestOnExpiredIsNotBoundedByStoreTimeout(t *testing.T) {
	clock := fakeclock.New()
	mem := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { mem.Close() })
	var hookDeadline, hookCalled bool
	e := newEnv(t, session.Config{Store: &hangingExpirer{Store: mem}, Now: clock.Now, StoreTimeout: time.Millisecond, IdleTimeout: time.Minute,
		PublishEvents: true,
		OnExpired: func(ctx context.Context, _ session.Expiry) error {
			_, hookDeadline = ctx.Deadline()
			hookCalled = true
			return nil
		}})
	next := subscribe(t, e.m)
	c := e.client()
	c.get("/set?k=a&v=1")
	c.get("/destroy")
	if ev := next(t); ev.Kind != session.EventDestroyed {
		t.Errorf("got %v, want a destroy", ev.Kind)
	}
	e.client().get("/set?k=a&v=1")
	clock.Advance(2 * time.Minute)
	if n, err := e.m.Reap(context.Background()); n != 1 || err != nil {
		t.Fatalf("Reap: %d, %v", n, err)
	}
	if !hookCalled || hookDeadline {
		t.Errorf("OnExpired called %v, with a deadline %v: want called without the StoreTimeout's", hookCalled, hookDeadline)
	}
	if ev := next(t); ev.Kind != session.EventExpired {
		t.Errorf("got %v, want an expiry", ev.Kind)
	}
}
