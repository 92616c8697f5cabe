package migratestore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

// plain hides every optional capability of a store.
type plain struct{ store.Store }

// receive returns the next event of ch, or fails the test after ten
// seconds.
func receive(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no event for ten seconds")
		return store.Event{}
	}
}

func TestNotifier(t *testing.T) {
	t.Run("a subscriber hears the events of both stores, each once, one at a time", func(t *testing.T) {
		p := memPair(t)
		s := p.migration(migratestore.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		var calls, running atomic.Int32
		var overlapped atomic.Bool
		events := make(chan store.Event, 10)
		started, release := make(chan struct{}), make(chan struct{})
		done, err := s.Subscribe(ctx, func(e store.Event) {
			if running.Add(1) > 1 {
				overlapped.Store(true)
			}
			if calls.Add(1) == 1 {
				close(started)
				<-release
			}
			running.Add(-1)
			events <- e
		})
		if err != nil {
			t.Fatal(err)
		}
		// A witness subscribed to each store directly.
		witness := make(chan store.Event, 10)
		for _, st := range []store.Store{p.old, p.new} {
			if _, err := st.(store.Notifier).Subscribe(t.Context(), func(e store.Event) { witness <- e }); err != nil {
				t.Fatal(err)
			}
		}
		// One event through each store: a server on the old store alone,
		// one that moves sessions; then, through each store, an end
		// marker, which comes after the store's other events.
		if err := p.old.(store.Notifier).Publish(t.Context(), store.Event{Kind: store.Destroyed, ID: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Publish(t.Context(), store.Event{Kind: store.Destroyed, ID: "b"}); err != nil {
			t.Fatal(err)
		}
		<-started
		// By the time the witness has both events, a Subscribe that calls
		// fn concurrently has most likely begun a second call.
		receive(t, witness)
		receive(t, witness)
		if got := calls.Load(); got != 1 {
			t.Errorf("calls of fn while its first call had not returned: got %d, want 1", got)
		}
		close(release)
		for _, st := range []store.Store{p.old, p.new} {
			if err := st.(store.Notifier).Publish(t.Context(), store.Event{Kind: store.Expired, ID: "end"}); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int{}
		for got["end"] < 2 {
			got[receive(t, events).ID]++
		}
		if got["a"] != 1 || got["b"] != 1 {
			t.Errorf("events heard: got %v, want a and b once each", got)
		}
		if overlapped.Load() {
			t.Errorf("fn: got calls that overlapped, want one at a time")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("done not closed ten seconds after the context ended")
		}
	})

	t.Run("Publish goes through the old store while the Store reads through", func(t *testing.T) {
		p := memPair(t)
		s := p.migration(migratestore.Config{MoveFrom: fakeclock.New().Now().Add(time.Hour)})
		events := make(chan store.Event, 1)
		if _, err := p.old.(store.Notifier).Subscribe(t.Context(), func(e store.Event) { events <- e }); err != nil {
			t.Fatal(err)
		}
		e := store.Event{Kind: store.Expired, ID: "a"}
		if err := s.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, events); got != e {
			t.Errorf("a subscriber of the old store alone: got %v, want %v", got, e)
		}
	})

	t.Run("without a Notifier in either store, Publish and Subscribe fail", func(t *testing.T) {
		p := memPair(t)
		s := migratestore.New(plain{p.old}, plain{p.new}, migratestore.Config{})
		if err := s.Publish(t.Context(), store.Event{}); err == nil {
			t.Errorf("Publish: got error nil, want one")
		}
		if _, err := s.Subscribe(t.Context(), func(store.Event) {}); err == nil {
			t.Errorf("Subscribe: got error nil, want one")
		}
	})
}
