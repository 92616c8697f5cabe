package memstore

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/store"
)

// checkIndex fails the test unless the index by user and the count of
// stored sessions agree with the entries: each entry with a user is indexed
// under it in its shard, each index entry names such an entry, no user is
// kept without sessions, and stored counts every entry.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		total += len(sh.entries)
		for id, e := range sh.entries {
			u, _ := e.values.Get(store.UserKey)
			user := string(u)
			if e.indexed != (user != "") {
				t.Errorf("shard %d, session %s with '@user' %q: got indexed %v, want %v", i, id, user, e.indexed, !e.indexed)
			}
			if _, ok := sh.users[user][id]; user != "" && !ok {
				t.Errorf("shard %d, session %s of %q: got no index entry, want one", i, id, user)
			}
		}
		for user, ids := range sh.users {
			if len(ids) == 0 {
				t.Errorf("shard %d: got user %q kept without sessions, want it gone", i, user)
			}
			for id := range ids {
				if e, ok := sh.entries[id]; !ok || string(e.user()) != user {
					t.Errorf("shard %d: got %s indexed under %q, want no entry left by a session that is gone or changed user", i, id, user)
				}
			}
		}
		sh.mu.Unlock()
	}
	if got := s.stored.Load(); got != int64(total) {
		t.Errorf("stored: got %v, want %v, the number of entries", got, total)
	}
}

func TestIndex(t *testing.T) {
	t.Run("the index by user is empty once every session of a user has ended, however it ended", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now, Retention: 10 * time.Minute})
		defer s.Close()
		ctx := t.Context()
		user := map[string][]byte{store.UserKey: []byte("ann")}
		for i := range 400 {
			id := fmt.Sprint("id-", i)
			if err := s.Create(ctx, id, user, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			switch i % 5 {
			case 0:
				_, _ = s.Delete(ctx, id)
			case 1:
				_, _, _ = s.Remove(ctx, id)
			case 2:
				to := id + "-moved"
				_, _ = s.Move(ctx, id, to, store.Delta{}, time.Hour, 0)
				_, _ = s.Delete(ctx, to)
			case 3:
				_, _ = s.Update(ctx, id, store.Delta{Set: map[string][]byte{store.UserKey: []byte("bob")}}, time.Hour, 0)
				_, _ = s.Update(ctx, id, store.Delta{Clear: true}, time.Hour, 0)
			case 4: // left to expire
			}
		}
		checkIndex(t, s)
		if got := s.users(); got == 0 {
			t.Fatalf("users before the expiry: got 0, want ann's")
		}
		clock.Advance(time.Hour)
		recs, _ := s.ClaimExpired(ctx, 40, time.Minute)
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		_ = s.Reap(ctx, ids...)
		checkIndex(t, s)
		clock.Advance(10 * time.Minute) // the rest, past Retention
		s.Sweep()
		checkIndex(t, s)
		if got := s.users(); got != 0 {
			t.Errorf("users at the end: got %v, want 0", got)
		}
		if got := s.entries(); got != 0 {
			t.Errorf("entries at the end: got %v, want 0", got)
		}
	})

	// Move locks two shards, then Create and Move take the reservations'
	// lock under them; Reserve takes that lock alone, and the scans one
	// shard at a time. Under -race this would find a deadlock or a data
	// race between them, and checkIndex a lost index entry.
	t.Run("every method at once keeps the index in step, without a deadlock", func(t *testing.T) {
		clock := fakeclock.New()
		s := New(Config{Now: clock.Now, Retention: time.Minute})
		defer s.Close()
		ctx := t.Context()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 1))
				for i := range 500 {
					id := fmt.Sprintf("%c%d", 'A'+r.IntN(4), r.IntN(64))
					to := fmt.Sprintf("%c%d", 'A'+r.IntN(4), r.IntN(64))
					users := []string{"", "ann", "bob"}
					d := store.Delta{Set: map[string][]byte{store.UserKey: []byte(users[r.IntN(3)])}}
					switch r.IntN(12) {
					case 0:
						_, _ = s.Reserve(ctx, id, 100)
						_ = s.Create(ctx, id, d.Set, time.Duration(1+r.IntN(3))*time.Minute, 0)
					case 1:
						_, _ = s.Reserve(ctx, to, 0)
						_, _ = s.Move(ctx, id, to, d, time.Minute, 0)
					case 2:
						_, _ = s.Update(ctx, id, d, time.Minute, 0)
					case 3:
						_, _ = s.Update(ctx, id, store.Delta{Clear: true}, time.Minute, 0)
					case 4:
						_, _ = s.Delete(ctx, id)
					case 5:
						_, _, _ = s.Remove(ctx, id)
					case 6:
						recs, _ := s.ClaimExpired(ctx, 5, time.Minute)
						for _, rec := range recs {
							_ = s.Reap(ctx, rec.ID)
						}
					case 7:
						_, _ = s.UserSessions(ctx, users[r.IntN(3)])
					case 8:
						_, _, _ = s.List(ctx, id, 10)
					case 9:
						_, _, _ = s.Load(ctx, id, time.Minute)
					case 10:
						s.Sweep()
					case 11:
						if i%50 == 0 {
							clock.Advance(time.Minute)
						}
						_, _ = s.Touch(ctx, id, time.Minute)
					}
				}
			})
		}
		wg.Wait()
		checkIndex(t, s)
	})
}
