package memstore

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
)

func TestClaimExpired(t *testing.T) {
	t.Run("a session past Retention is returned once with nil Values and removed from memory", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now, Retention: time.Minute})
		defer s.Close()
		if err := s.Create(t.Context(), "a", map[string][]byte{"@user": []byte("ann")}, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		clock.Advance(3 * time.Minute)
		recs, err := s.ClaimExpired(t.Context(), 10, time.Minute)
		if err != nil || len(recs) != 1 || recs[0].ID != "a" || recs[0].Values != nil || recs[0].User != "ann" {
			t.Fatalf("ClaimExpired: got %+v, %v, want a of ann with nil Values", recs, err)
		}
		if got := s.entries(); got != 0 {
			t.Errorf("entries after the claim: got %v, want 0", got)
		}
		if got := s.users(); got != 0 {
			t.Errorf("users after the claim: got %v, want 0", got)
		}
	})
}
