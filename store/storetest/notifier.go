package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// notifierCases cover store.Notifier: what subscribers hear, and when they
// stop hearing it. The cases wait for events on channels, for at most
// eventWait each; they never sleep. They skip when the store has no
// Notifier.
var notifierCases = []testCase{
	{"Publish", testNotifierPublish, "a subscriber gets each event published after Subscribe returned, once, with every field as published"},
	{"Subscribers", testNotifierSubscribers, "every subscriber gets each event"},
	{"Cancel", testNotifierCancel, "once the subscription's context is done, done is closed and fn is not called again, while other subscribers still get events"},
	{"OneAtATime", testNotifierOneAtATime, "a subscriber's fn is called one event at a time: until a call returns, the next event waits"},
	{"CanceledContext", testNotifierCanceledContext, "Publish and Subscribe fail with a canceled context, and the fn of such a Subscribe is never called"},
}

// eventWait is how long a case waits for an event that should come, or for
// done to close: generous, since it is spent only when a store fails.
const eventWait = 10 * time.Second

// subscribe subscribes fn to n until the test ends or cancel is called, and
// checks at the end that done is closed.
func subscribe(t *testing.T, n store.Notifier, fn func(store.Event)) (cancel func(), done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done, err := n.Subscribe(ctx, fn)
	if err != nil {
		cancel()
		t.Fatalf("Subscribe: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(eventWait):
			t.Errorf("Subscribe: done still open %v after the context ended, want it closed", eventWait)
		}
	})
	return cancel, done
}

// collect subscribes to n and returns the channel that gets the events.
func collect(t *testing.T, n store.Notifier) <-chan store.Event {
	t.Helper()
	ch := make(chan store.Event, 100)
	subscribe(t, n, func(e store.Event) { ch <- e })
	return ch
}

// publish publishes e, or fails the test.
func publish(t *testing.T, n store.Notifier, e store.Event) {
	t.Helper()
	if err := n.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%+v): got error %v, want nil", e, err)
	}
}

// receive returns the next count events from ch, or fails the test after
// waiting eventWait for one.
func receive(t *testing.T, ch <-chan store.Event, count int, what string) []store.Event {
	t.Helper()
	var got []store.Event
	for len(got) < count {
		select {
		case e := <-ch:
			got = append(got, e)
		case <-time.After(eventWait):
			t.Fatalf("%s: got %d events in %v, want %d: %+v", what, len(got), eventWait, count, got)
		}
	}
	return got
}

// wantEvents fails the test unless got holds the events of want, in any
// order.
func wantEvents(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	str := func(es []store.Event) []string {
		s := make([]string, len(es))
		for i, e := range es {
			s[i] = fmt.Sprintf("%+v", e)
		}
		slices.Sort(s)
		return s
	}
	if g, w := str(got), str(want); !slices.Equal(g, w) {
		t.Errorf("%s: got %v, want %v in any order", what, g, w)
	}
}

// someEvents returns events of both kinds, with and without a user and a
// reason.
func someEvents(t *testing.T) []store.Event {
	return []store.Event{
		{Kind: store.Destroyed, ID: newID(t), User: "ann", Reason: "logout"},
		{Kind: store.Expired, ID: newID(t)},
		{Kind: store.Expired, ID: newID(t), User: "bob"},
		{Kind: store.Destroyed, ID: newID(t), User: "ünï 42 <ann@example.com>", Reason: "admin"},
	}
}

func testNotifierPublish(t *testing.T, h Harness) {
	n := notifier(t, h)
	ch := collect(t, n)
	events := someEvents(t)
	for _, e := range events {
		publish(t, n, e)
	}
	wantEvents(t, "events received", receive(t, ch, len(events), "events received"), events)
	// Nothing twice: an event published last comes after any
	// duplicate that a store sends at once.
	marker := store.Event{Kind: store.Destroyed, ID: newID(t), Reason: "marker"}
	publish(t, n, marker)
	if got := receive(t, ch, 1, "the last event"); got[0] != marker {
		t.Errorf("the next event: got %+v, want %+v (each event once)", got[0], marker)
	}
}

func testNotifierSubscribers(t *testing.T, h Harness) {
	n := notifier(t, h)
	a, b := collect(t, n), collect(t, n)
	events := someEvents(t)
	for _, e := range events {
		publish(t, n, e)
	}
	wantEvents(t, "the first subscriber's events", receive(t, a, len(events), "the first subscriber's events"), events)
	wantEvents(t, "the second subscriber's events", receive(t, b, len(events), "the second subscriber's events"), events)
}

func testNotifierCancel(t *testing.T, h Harness) {
	n := notifier(t, h)
	var (
		closed atomic.Bool  // set once done is seen closed
		late   atomic.Int32 // calls that began after that
	)
	ch := make(chan store.Event, 100)
	cancel, done := subscribe(t, n, func(e store.Event) {
		if closed.Load() {
			late.Add(1)
		}
		ch <- e
	})
	witness := collect(t, n)
	first := store.Event{Kind: store.Destroyed, ID: newID(t), Reason: "logout"}
	publish(t, n, first)
	receive(t, ch, 1, "the event before the cancel")
	receive(t, witness, 1, "the other subscriber's event before the cancel")

	cancel()
	select {
	case <-done:
		closed.Store(true)
	case <-time.After(eventWait):
		t.Fatalf("done: still open %v after the context ended, want it closed", eventWait)
	}
	after := store.Event{Kind: store.Expired, ID: newID(t)}
	publish(t, n, after)
	// Once the other subscriber has it, a call of fn would most likely
	// have begun.
	wantEvents(t, "the other subscriber's event after the cancel", receive(t, witness, 1, "the other subscriber's event after the cancel"), []store.Event{after})
	if got := late.Load(); got != 0 || len(ch) != 0 {
		t.Errorf("calls of fn after done was closed: got %d (%d events), want 0", got, len(ch))
	}
}

func testNotifierOneAtATime(t *testing.T, h Harness) {
	n := notifier(t, h)
	const events = 20
	var (
		calls, running atomic.Int32
		overlapped     atomic.Bool
	)
	started, release := make(chan struct{}), make(chan struct{})
	ch := make(chan store.Event, events)
	subscribe(t, n, func(e store.Event) {
		if running.Add(1) > 1 {
			overlapped.Store(true)
		}
		if calls.Add(1) == 1 {
			close(started)
			select { // hold the first call until every event has arrived
			case <-release:
			case <-time.After(eventWait):
			}
		}
		running.Add(-1)
		ch <- e
	})
	witness := collect(t, n)
	var want []store.Event
	for range events {
		e := store.Event{Kind: store.Expired, ID: newID(t)}
		want = append(want, e)
		publish(t, n, e)
	}
	select {
	case <-started:
	case <-time.After(eventWait):
		t.Fatalf("fn: got no call in %v, want one", eventWait)
	}
	// By the time another subscriber has every event, a store that
	// calls fn concurrently has most likely begun a second call.
	receive(t, witness, events, "the other subscriber's events")
	if got := calls.Load(); got != 1 {
		t.Errorf("calls of fn while its first call had not returned: got %d, want 1", got)
	}
	close(release)
	wantEvents(t, "events received", receive(t, ch, events, "events received"), want)
	if overlapped.Load() {
		t.Errorf("fn: got calls that overlapped, want one at a time")
	}
}

func testNotifierCanceledContext(t *testing.T, h Harness) {
	n := notifier(t, h)
	ctx := canceled(t)
	var calls atomic.Int32
	if done, err := n.Subscribe(ctx, func(store.Event) { calls.Add(1) }); err == nil {
		t.Errorf("Subscribe: got error nil, want non-nil")
		select {
		case <-done:
		case <-time.After(eventWait):
			t.Errorf("Subscribe that should have failed: done still open %v after the context ended, want it closed", eventWait)
		}
	}
	e := store.Event{Kind: store.Destroyed, ID: newID(t), Reason: "logout"}
	if err := n.Publish(ctx, e); err == nil {
		t.Errorf("Publish: got error nil, want non-nil")
	}
	witness := collect(t, n)
	publish(t, n, e)
	receive(t, witness, 1, "a live subscriber's event")
	if got := calls.Load(); got != 0 {
		t.Errorf("calls of the fn of a Subscribe that failed: got %d, want 0", got)
	}
}
