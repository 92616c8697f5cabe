package memstore

import (
	"testing"
	"testing/synctest"
	"time"
)

// entries counts the sessions held in memory, expired or not.
func (s *Store) entries() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

func TestSweep(t *testing.T) {
	t.Run("Sweep removes expired sessions from memory and keeps live ones", func(t *testing.T) {
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		s := New(Config{Now: func() time.Time { return now }})
		defer s.Close()
		for i, ttl := range []time.Duration{time.Minute, time.Minute, time.Hour} {
			if err := s.Create(t.Context(), string(rune('a'+i)), nil, ttl, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		now = now.Add(2 * time.Minute)
		if got, want := s.entries(), 3; got != want {
			t.Errorf("entries before Sweep: got %v, want %v", got, want)
		}
		s.Sweep()
		if got, want := s.entries(), 1; got != want {
			t.Errorf("entries after Sweep: got %v, want %v", got, want)
		}
		if got, want := s.Len(), 1; got != want {
			t.Errorf("Len after Sweep: got %v, want %v", got, want)
		}
	})

	t.Run("an expired session is removed from memory when it is accessed", func(t *testing.T) {
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		s := New(Config{Now: func() time.Time { return now }})
		defer s.Close()
		if err := s.Create(t.Context(), "a", nil, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		now = now.Add(2 * time.Minute)
		if _, found, _ := s.Load(t.Context(), "a", 0); found {
			t.Errorf("Load: got found=true, want false")
		}
		if got, want := s.entries(), 0; got != want {
			t.Errorf("entries after Load: got %v, want %v", got, want)
		}
	})

	// synctest runs the real sweeper goroutine and ticker against a fake
	// clock: time.Sleep returns as soon as every goroutine is blocked.
	t.Run("the sweeper removes expired sessions every SweepInterval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := New(Config{SweepInterval: time.Minute})
			defer s.Close()
			if err := s.Create(t.Context(), "short", nil, 30*time.Second, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			if err := s.Create(t.Context(), "long", nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			time.Sleep(59 * time.Second)
			synctest.Wait()
			if got, want := s.entries(), 2; got != want {
				t.Errorf("entries before the first sweep: got %v, want %v", got, want)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if got, want := s.entries(), 1; got != want {
				t.Errorf("entries after the first sweep: got %v, want %v", got, want)
			}
		})
	})

	t.Run("Close stops the sweeper goroutine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Inside the bubble time.Now and Sleep are fake: the store's
			// clock and the sweeper's ticker move together, instantly.
			s := New(Config{SweepInterval: time.Minute})
			if err := s.Create(t.Context(), "x", nil, time.Second, 0); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: got error %v, want nil", err)
			}
			time.Sleep(5 * time.Minute) // five sweeps, were a sweeper running
			if got := s.entries(); got != 1 {
				t.Fatalf("entries 5 minutes after Close: got %d, want 1 (no sweep after Close)", got)
			}
			// synctest.Test also fails if any goroutine of the bubble,
			// such as a sweeper, is still running when it returns.
		})
	})
}
