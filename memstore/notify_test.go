package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

func TestPublish(t *testing.T) {
	t.Run("Publish never waits for a subscriber that is stuck: past subscriberBuffer events it misses them", func(t *testing.T) {
		s := New(Config{})
		defer s.Close()
		ctx, cancel := context.WithCancel(t.Context())
		stuck, release := make(chan struct{}), make(chan struct{})
		got := make(chan store.Event, 2*subscriberBuffer)
		done, err := s.Subscribe(ctx, func(e store.Event) {
			if e.Reason == "first" {
				close(stuck)
				<-release
			}
			got <- e
		})
		if err != nil {
			t.Fatalf("Subscribe: got error %v, want nil", err)
		}
		_ = s.Publish(ctx, store.Event{Kind: store.Destroyed, Reason: "first"})
		<-stuck
		for range 2 * subscriberBuffer { // would block here if Publish waited
			if err := s.Publish(ctx, store.Event{Kind: store.Expired}); err != nil {
				t.Fatalf("Publish: got error %v, want nil", err)
			}
		}
		close(release)
		for range subscriberBuffer + 1 { // the first, and a full buffer
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("events: got fewer than %d, want that many", subscriberBuffer+1)
			}
		}
		cancel()
		<-done
		if n := len(got); n != 0 {
			t.Errorf("events beyond the buffer: got %v, want 0", n)
		}
	})
}
