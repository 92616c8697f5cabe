package memstore

import (
	"context"
	"sync"

	"github.com/seed58a3dad2/session/store"
)

// subscriberBuffer is how many events a subscriber may fall behind by.
// Beyond that it misses events, as a subscriber of Redis pub/sub that
// cannot keep up does: Publish never waits for a slow subscriber.
const subscriberBuffer = 1024

// subscribers are the subscriptions of a Store.
type subscribers struct {
	mu sync.RWMutex // protects m
	m  map[*subscription]struct{}
}

// subscription is one call of Subscribe.
type subscription struct {
	events chan store.Event
}

// Publish hands e to every subscriber of s, without waiting for any.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.subs.mu.RLock()
	defer s.subs.mu.RUnlock()
	for sub := range s.subs.m {
		select {
		case sub.events <- e:
		default: // fallen behind by subscriberBuffer: missed
		}
	}
	return nil
}

// Subscribe calls fn for every event published on s from now until ctx is
// done, one at a time on a goroutine of its own, in the order published.
// A subscriber that falls more than 1024 events behind misses the next
// ones until it catches up.
func (s *Store) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sub := &subscription{events: make(chan store.Event, subscriberBuffer)}
	s.subs.mu.Lock()
	if s.subs.m == nil {
		s.subs.m = make(map[*subscription]struct{})
	}
	s.subs.m[sub] = struct{}{}
	s.subs.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			s.subs.mu.Lock()
			delete(s.subs.m, sub)
			s.subs.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-sub.events:
				if ctx.Err() != nil {
					return
				}
				fn(e)
			}
		}
	}()
	return done, nil
}
