package memstore

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
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

// users counts the users in the index by user, over all shards.
func (s *Store) users() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.users)
		sh.mu.Unlock()
	}
	return n
}

// Expired sessions stay in memory for their claimer (ClaimExpired) until
// Retention has passed since they expired; only then does a sweep or an
// access remove them.
func TestSweep(t *testing.T) {
	t.Run("Sweep removes sessions that expired longer ago than Retention and keeps the rest", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now, Retention: 10 * time.Minute})
		defer s.Close()
		for i, ttl := range []time.Duration{time.Minute, time.Minute, 5 * time.Minute, time.Hour} {
			if err := s.Create(t.Context(), string(rune('a'+i)), map[string][]byte{"@user": []byte("ann")}, ttl, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		clock.Advance(2 * time.Minute)
		s.Sweep()
		if got, want := s.entries(), 4; got != want {
			t.Errorf("entries after Sweep, two expired within Retention: got %v, want %v", got, want)
		}
		if got, want := s.Len(), 2; got != want {
			t.Errorf("Len after Sweep: got %v, want %v", got, want)
		}
		clock.Advance(10 * time.Minute) // past the Retention of the first two, within that of the third
		s.Sweep()
		if got, want := s.entries(), 2; got != want {
			t.Errorf("entries after Sweep, two past Retention: got %v, want %v", got, want)
		}
		if got, want := s.Len(), 1; got != want {
			t.Errorf("Len after Sweep: got %v, want %v", got, want)
		}
		clock.Advance(time.Hour + 10*time.Minute)
		s.Sweep()
		if got, want := s.entries(), 0; got != want {
			t.Errorf("entries after Sweep, all past Retention: got %v, want %v", got, want)
		}
		if got := s.users(); got != 0 {
			t.Errorf("users indexed after Sweep, all past Retention: got %v, want 0", got)
		}
	})

	t.Run("an expired session stays in memory until Retention has passed, then an access removes it", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now, Retention: 10 * time.Minute})
		defer s.Close()
		if err := s.Create(t.Context(), "a", map[string][]byte{"@user": []byte("ann")}, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		clock.Advance(2 * time.Minute)
		if _, found, _ := s.Load(t.Context(), "a", 0); found {
			t.Errorf("Load: got found=true, want false")
		}
		if got, want := s.entries(), 1; got != want {
			t.Errorf("entries after Load within Retention: got %v, want %v", got, want)
		}
		clock.Advance(10 * time.Minute)
		if _, found, _ := s.Load(t.Context(), "a", 0); found {
			t.Errorf("Load: got found=true, want false")
		}
		if got, want := s.entries(), 0; got != want {
			t.Errorf("entries after Load past Retention: got %v, want %v", got, want)
		}
		if got := s.users(); got != 0 {
			t.Errorf("users indexed after Load past Retention: got %v, want 0", got)
		}
	})

	// synctest runs the real sweeper goroutine and ticker against a fake
	// clock: time.Sleep returns as soon as every goroutine is blocked.
	t.Run("the sweeper removes sessions past their Retention every SweepInterval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := New(Config{SweepInterval: time.Minute, Retention: time.Minute})
			defer s.Close()
			if err := s.Create(t.Context(), "short", nil, 30*time.Second, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			if err := s.Create(t.Context(), "long", nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			// The first sweep, at 60 seconds, finds short within its
			// Retention (until 90 seconds); the second removes it.
			time.Sleep(119 * time.Second)
			synctest.Wait()
			if got, want := s.entries(), 2; got != want {
				t.Errorf("entries before the second sweep: got %v, want %v", got, want)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if got, want := s.entries(), 1; got != want {
				t.Errorf("entries after the second sweep: got %v, want %v", got, want)
			}
		})
	})

	t.Run("Close stops the sweeper goroutine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Inside the bubble time.Now and Sleep are fake: the store's
			// clock and the sweeper's ticker move together, instantly.
			// With a Retention of a second, a running sweeper would
			// remove x at its first sweep.
			s := New(Config{SweepInterval: time.Minute, Retention: time.Second})
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
