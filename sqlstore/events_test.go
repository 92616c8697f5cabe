package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// received collects the events a subscription delivers.
type received struct {
	mu     sync.Mutex // protects events
	events []store.Event
	more   chan struct{} // gets a token per event
}

func newReceived() *received { return &received{more: make(chan struct{}, 1000)} }

func (r *received) add(e store.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.more <- struct{}{}
}

// wait waits until n events have come, for at most ten seconds.
func (r *received) wait(t *testing.T, n int) []store.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			got := slices.Clone(r.events)
			r.mu.Unlock()
			return got
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-timeout:
			t.Fatalf("got %d events within 10s, want %d", len(r.events), n)
		}
	}
}

// subscribe subscribes r to s until the test ends.
func subscribe(t *testing.T, s *sqlstore.Store, r *received) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := s.Subscribe(ctx, r.add)
	if err != nil {
		t.Fatalf("Subscribe: got error %v, want nil", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return done
}

func TestNotifier(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("every subscribed server gets every event of its application, in order, once", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			fast := sqlstore.Config{Now: clock.Now, PollInterval: 5 * time.Millisecond}
			servers := make([]*sqlstore.Store, 3)
			for i := range servers {
				servers[i] = newStore(t, db, b.dialect, fast)
			}
			other := fast
			other.Application = "other"
			elsewhere := newStore(t, db, b.dialect, other)

			early := store.Event{Kind: store.Destroyed, ID: "early", Reason: "logout"}
			if err := servers[0].Publish(t.Context(), early); err != nil {
				t.Fatal(err)
			}
			got := make([]*received, len(servers))
			for i, s := range servers {
				got[i] = newReceived()
				subscribe(t, s, got[i])
			}
			elsewhereGot := newReceived()
			subscribe(t, elsewhere, elsewhereGot)

			var want []store.Event
			for i := range 20 {
				e := store.Event{Kind: store.Destroyed, ID: fmt.Sprint("id", i), User: "ann\x00\xff", Reason: "logout"}
				if i%2 == 1 {
					e = store.Event{Kind: store.Expired, ID: fmt.Sprint("id", i), User: "bob"}
				}
				want = append(want, e)
				if err := servers[i%len(servers)].Publish(t.Context(), e); err != nil {
					t.Fatalf("Publish: got error %v, want nil", err)
				}
			}
			mark := store.Event{Kind: store.Destroyed, ID: "elsewhere", Reason: "admin"}
			if err := elsewhere.Publish(t.Context(), mark); err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				if events := r.wait(t, len(want)); !slices.Equal(events, want) {
					t.Errorf("server %d: got %v, want %v", i, events, want)
				}
			}
			if events := elsewhereGot.wait(t, 1); !slices.Equal(events, []store.Event{mark}) {
				t.Errorf("the other application's subscriber: got %v, want only its own event", events)
			}
		})

		t.Run("a subscription ends with its context or Close, and done closes", func(t *testing.T) {
			db := b.open(t)
			s := newStore(t, db, b.dialect, sqlstore.Config{PollInterval: 5 * time.Millisecond})
			ctx, cancel := context.WithCancel(t.Context())
			done, err := s.Subscribe(ctx, func(store.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("done not closed 10s after the context")
			}
			done, err = s.Subscribe(t.Context(), func(store.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("done not closed 10s after Close")
			}
		})

		t.Run("Subscribe fails when the database cannot be reached", func(t *testing.T) {
			db := b.open(t)
			s := newStore(t, db, b.dialect, sqlstore.Config{})
			_ = db.Close()
			if _, err := s.Subscribe(t.Context(), func(store.Event) {}); err == nil {
				t.Errorf("Subscribe on a closed database: got error nil, want one")
			}
		})

		t.Run("the sweep removes events older than EventRetention", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, EventRetention: time.Minute})
			for i := range 3 {
				if err := s.Publish(t.Context(), store.Event{Kind: store.Expired, ID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(30 * time.Second)
			if err := s.Publish(t.Context(), store.Event{Kind: store.Expired, ID: "recent"}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(45 * time.Second)
			if n, err := s.Sweep(t.Context()); err != nil || n != 3 {
				t.Errorf("Sweep: got %d, %v, want 3, nil", n, err)
			}
			if n := rows(t, db, "sessions_events"); n != 1 {
				t.Errorf("events left: got %d, want 1", n)
			}
		})
	})
}
