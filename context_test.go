package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestFromContextWithoutMiddleware(t *testing.T) {
	s := session.FromContext(context.Background())
	if s != nil {
		t.Fatalf("got %v, want nil", s)
	}
	if _, _, err := session.Get[int](s, "n"); !errors.Is(err, session.ErrNoMiddleware) {
		t.Errorf("Get: got %v", err)
	}
	if err := s.Set("n", 1); !errors.Is(err, session.ErrNoMiddleware) {
		t.Errorf("Set: got %v", err)
	}
	if err := s.Renew(); !errors.Is(err, session.ErrNoMiddleware) {
		t.Errorf("Renew: got %v", err)
	}
	s.Delete("n")
	s.Clear()
	s.Destroy()
	if s.ID() != "" || !s.ExpiresAt().IsZero() {
		t.Error("a nil session has an ID or expiry")
	}
}
