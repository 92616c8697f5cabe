package memstore_test

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := fakeclock.New()
		s := memstore.New(memstore.Config{Now: clock.Now})
		t.Cleanup(func() { _ = s.Close() })
		return storetest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now, Retention: time.Hour}
	})
}

func TestLen(t *testing.T) {
	t.Run("Len counts live sessions and not expired ones", func(t *testing.T) {
		clock := fakeclock.New()
		s := memstore.New(memstore.Config{Now: clock.Now})
		defer s.Close()
		ctx := t.Context()
		for _, id := range []string{"a", "b", "c"} {
			if err := s.Create(ctx, id, nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		if err := s.Create(ctx, "short", nil, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got, want := s.Len(), 4; got != want {
			t.Errorf("Len: got %v, want %v", got, want)
		}
		clock.Advance(2 * time.Minute)
		if got, want := s.Len(), 3; got != want {
			t.Errorf("Len after one expired: got %v, want %v", got, want)
		}
		if _, err := s.Delete(ctx, "a"); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
		if got, want := s.Len(), 2; got != want {
			t.Errorf("Len after Delete: got %v, want %v", got, want)
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("a negative SweepInterval panics at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("New: got no panic, want one")
			}
		}()
		s := memstore.New(memstore.Config{SweepInterval: -time.Second})
		_ = s.Close()
	})
	t.Run("a negative Retention panics at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("New: got no panic, want one")
			}
		}()
		s := memstore.New(memstore.Config{Retention: -time.Second})
		_ = s.Close()
	})
	t.Run("Close can be called more than once", func(t *testing.T) {
		s := memstore.New(memstore.Config{})
		for range 2 {
			if err := s.Close(); err != nil {
				t.Errorf("Close: got error %v, want nil", err)
			}
		}
	})
	t.Run("the store keeps working after Close", func(t *testing.T) {
		s := memstore.New(memstore.Config{})
		_ = s.Close()
		if err := s.Create(t.Context(), "id", nil, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if _, found, err := s.Load(t.Context(), "id", 0); err != nil || !found {
			t.Errorf("Load: got %v, %v, want true, nil", found, err)
		}
	})
}
