package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// channel returns the pub/sub channel of the application's events,
// "<Prefix>:<Application>:@events".
func (s *Store) channel() string {
	return s.appPrefix + "@events"
}

// event is an Event as published: JSON, so that services in other languages
// can listen too.
type event struct {
	Kind   string `json:"kind"` // "destroyed" or "expired"
	ID     string `json:"id"`
	User   string `json:"user,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Publish sends e to every subscriber of the application, on every server,
// with one PUBLISH on the channel "<Prefix>:<Application>:@events", as JSON:
// {"kind":"destroyed","id":"…","user":"…","reason":"logout"}. It works with
// or without Config.Index, and on a Cluster, which carries a PUBLISH to the
// subscribers of every node.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	b, err := json.Marshal(event{Kind: e.Kind.String(), ID: e.ID, User: e.User, Reason: e.Reason})
	if err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	if err := s.client.Publish(ctx, s.channel(), b).Err(); err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	return nil
}

// Subscribe calls fn for every event published to the application from the
// moment it returns until ctx is done (see store.Notifier). It returns once
// Redis has confirmed the subscription. go-redis keeps the subscription's
// connection, and makes it again after an error, subscribing anew: what is
// published meanwhile is missed, as pub/sub promises no more. A message that
// is not an event of this package is skipped. An fn that blocks holds back
// the events after it, which go-redis drops after a minute.
func (s *Store) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: subscribe: %w", err)
	}
	ps := s.client.Subscribe(ctx) // no channel yet: nothing sent
	if err := ps.Subscribe(ctx, s.channel()); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redisstore: subscribe: %w", err)
	}
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redisstore: subscribe: %w", err)
		}
		if _, ok := msg.(*redis.Subscription); ok {
			break
		}
	}
	messages := ps.Channel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-messages:
				if !ok {
					return
				}
				if e, ok := parseEvent(msg.Payload); ok {
					fn(e)
				}
			}
		}
	}()
	return done, nil
}

// parseEvent decodes a published event, or reports false for a message that
// is not one.
func parseEvent(payload string) (store.Event, bool) {
	var e event
	if err := json.Unmarshal([]byte(payload), &e); err != nil || e.ID == "" {
		return store.Event{}, false
	}
	var kind store.EventKind
	switch e.Kind {
	case store.Destroyed.String():
		kind = store.Destroyed
	case store.Expired.String():
		kind = store.Expired
	default:
		return store.Event{}, false
	}
	return store.Event{Kind: kind, ID: e.ID, User: e.User, Reason: e.Reason}, true
}
