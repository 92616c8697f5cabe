package memstore

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
)

func TestReserve(t *testing.T) {
	t.Run("a reservation never stored counts for reserveGrace, and no longer", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now})
		defer s.Close()
		if ok, err := s.Reserve(t.Context(), "a", 1); err != nil || !ok {
			t.Fatalf("Reserve: got %v, %v, want true, nil", ok, err)
		}
		clock.Advance(reserveGrace - time.Second)
		if ok, _ := s.Reserve(t.Context(), "b", 1); ok {
			t.Errorf("Reserve a second before the grace ends: got true, want false")
		}
		clock.Advance(time.Second)
		if ok, _ := s.Reserve(t.Context(), "b", 1); !ok {
			t.Errorf("Reserve when the grace ends: got false, want true")
		}
	})

	t.Run("a stored session uses up its reservation, and counts once", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now})
		defer s.Close()
		ctx := t.Context()
		if ok, _ := s.Reserve(ctx, "a", 2); !ok {
			t.Fatalf("Reserve: got false, want true")
		}
		if err := s.Create(ctx, "a", nil, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got := s.pending.n.Load(); got != 0 {
			t.Errorf("reservations after Create: got %v, want 0", got)
		}
		if ok, _ := s.Reserve(ctx, "b", 2); !ok {
			t.Errorf("Reserve of a second with max 2: got false, want true")
		}
		if ok, _ := s.Reserve(ctx, "c", 2); ok {
			t.Errorf("Reserve of a third with max 2: got true, want false")
		}
	})
}
