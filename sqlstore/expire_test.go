package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// claim claims up to limit expired sessions for a minute, or fails the test.
func claim(t *testing.T, s *sqlstore.Store, limit int) []store.Record {
	t.Helper()
	recs, err := s.ClaimExpired(t.Context(), limit, time.Minute)
	if err != nil {
		t.Fatalf("ClaimExpired: got error %v, want nil", err)
	}
	return recs
}

// recordIDs returns the IDs of recs.
func recordIDs(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func TestExpirer(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("an expired session is handed out once per lease, oldest first, with its values, until reaped", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			start := clock.Now()
			mustCreate(t, s, "second", kv("n", "2"), 2*time.Minute)
			mustCreate(t, s, "first", kv(store.UserKey, "ann", "n", "1"), time.Minute)
			mustCreate(t, s, "empty", nil, 3*time.Minute)
			mustCreate(t, s, "live", kv("n", "0"), time.Hour)
			if recs := claim(t, s, 10); len(recs) != 0 {
				t.Fatalf("ClaimExpired before any expiry: got %v, want none", recordIDs(recs))
			}
			clock.Advance(5 * time.Minute)
			recs := claim(t, s, 2)
			if got := recordIDs(recs); !slices.Equal(got, []string{"first", "second"}) {
				t.Fatalf("ClaimExpired(2): got %v, want [first second]", got)
			}
			if r := recs[0]; r.User != "ann" || !r.Expires.Equal(start.Add(time.Minute)) || !r.Created.Equal(start) ||
				!maps.EqualFunc(r.Values, kv(store.UserKey, "ann", "n", "1"), slices.Equal) {
				t.Errorf("first record: got %+v, want ann's, created at the start, expired a minute later, with its values", r)
			}
			if got := recordIDs(claim(t, s, 10)); !slices.Equal(got, []string{"empty"}) {
				t.Errorf("ClaimExpired while the others are leased: got %v, want [empty]", got)
			}
			// The lease ends: whoever claimed them died.
			clock.Advance(2 * time.Minute)
			again := claim(t, s, 10)
			if got := recordIDs(again); !slices.Equal(got, []string{"first", "second", "empty"}) {
				t.Fatalf("ClaimExpired after the leases: got %v, want [first second empty]", got)
			}
			if v := again[2].Values; v == nil || len(v) != 0 {
				t.Errorf("values of a session without values: got %#v, want empty, not nil", v)
			}
			if err := s.Reap(t.Context(), "first", "second", "empty", "live", "never"); err != nil {
				t.Fatalf("Reap: got error %v, want nil", err)
			}
			if err := s.Reap(t.Context(), "first"); err != nil {
				t.Errorf("Reap again: got error %v, want nil", err)
			}
			clock.Advance(2 * time.Minute)
			if recs := claim(t, s, 10); len(recs) != 0 {
				t.Errorf("ClaimExpired after Reap: got %v, want none", recordIDs(recs))
			}
			if _, found, _ := s.Load(t.Context(), "live", 0); !found {
				t.Errorf("Load of a live session given to Reap: got found=false, want true")
			}
		})

		t.Run("a session expired longer than Retention ago is returned once without values, then forgotten", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now, Retention: 10 * time.Minute})
			mustCreate(t, s, "old", kv("n", "1"), time.Minute)
			mustCreate(t, s, "recent", kv("n", "2"), 20*time.Minute)
			clock.Advance(25 * time.Minute)
			recs := claim(t, s, 10)
			if got := recordIDs(recs); !slices.Equal(got, []string{"old", "recent"}) {
				t.Fatalf("ClaimExpired: got %v, want [old recent]", got)
			}
			if recs[0].Values != nil || recs[0].ID != "old" {
				t.Errorf("past retention: got values %q, want nil", recs[0].Values)
			}
			if !maps.EqualFunc(recs[1].Values, kv("n", "2"), slices.Equal) {
				t.Errorf("within retention: got values %q, want n=2", recs[1].Values)
			}
			clock.Advance(2 * time.Minute) // past the leases
			if got := recordIDs(claim(t, s, 10)); !slices.Equal(got, []string{"recent"}) {
				t.Errorf("ClaimExpired again: got %v, want [recent]", got)
			}
		})

		t.Run("an expired session kept for its claimer is gone for every other call", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			ctx := t.Context()
			mustCreate(t, s, "Aid", kv(store.UserKey, "ann", "a", "1"), time.Minute)
			clock.Advance(2 * time.Minute)
			checks := []struct {
				name string
				call func() (bool, error)
			}{
				{"Load", func() (bool, error) { _, f, err := s.Load(ctx, "Aid", time.Hour); return f, err }},
				{"Update", func() (bool, error) { return s.Update(ctx, "Aid", store.Delta{Set: kv("b", "2")}, time.Hour, 0) }},
				{"Update that deletes", func() (bool, error) {
					return s.Update(ctx, "Aid", store.Delta{Clear: true}, time.Hour, 10)
				}},
				{"Touch", func() (bool, error) { return s.Touch(ctx, "Aid", time.Hour) }},
				{"Move", func() (bool, error) { return s.Move(ctx, "Aid", "Anew", store.Delta{}, time.Hour, 0) }},
				{"Peek", func() (bool, error) { _, f, err := s.Peek(ctx, "Aid"); return f, err }},
				{"Delete", func() (bool, error) { return s.Delete(ctx, "Aid") }},
				{"Count", func() (bool, error) { n, err := s.Count(ctx); return n > 0, err }},
				{"List", func() (bool, error) { p, _, err := s.List(ctx, "", 10); return len(p) > 0, err }},
				{"UserSessions", func() (bool, error) { u, err := s.UserSessions(ctx, "ann"); return len(u) > 0, err }},
			}
			for _, c := range checks {
				if found, err := c.call(); err != nil || found {
					t.Errorf("%s: got %v, %v, want false, nil", c.name, found, err)
				}
			}
			recs := claim(t, s, 10)
			if len(recs) != 1 || !maps.EqualFunc(recs[0].Values, kv(store.UserKey, "ann", "a", "1"), slices.Equal) {
				t.Errorf("ClaimExpired: got %+v, want the session as it expired", recs)
			}
		})

		t.Run("concurrent claimers on several servers get each expired session once", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			const servers, sessions = 4, 200
			stores := make([]*sqlstore.Store, servers)
			for i := range stores {
				stores[i] = newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
			}
			for i := range sessions {
				mustCreate(t, stores[0], fmt.Sprintf("s%03d", i), kv("i", fmt.Sprint(i)), time.Minute)
			}
			clock.Advance(2 * time.Minute)
			var (
				mu   sync.Mutex // protects seen
				seen = make(map[string]int)
				wg   sync.WaitGroup
			)
			for _, s := range stores {
				for range 3 {
					wg.Go(func() {
						for {
							recs, err := s.ClaimExpired(t.Context(), 7, time.Hour)
							if err != nil {
								t.Errorf("ClaimExpired: got error %v, want nil", err)
								return
							}
							if len(recs) == 0 {
								return
							}
							mu.Lock()
							for _, r := range recs {
								seen[r.ID]++
							}
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			if len(seen) != sessions {
				t.Errorf("got %d sessions claimed, want %d", len(seen), sessions)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("session %s: claimed %d times, want once", id, n)
				}
			}
		})

		t.Run("applications claim their own expired sessions only", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			shop := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "shop"})
			blog := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "blog"})
			mustCreate(t, shop, "id", kv("app", "shop"), time.Minute)
			mustCreate(t, blog, "id", kv("app", "blog"), time.Minute)
			clock.Advance(2 * time.Minute)
			recs := claim(t, shop, 10)
			if len(recs) != 1 || string(recs[0].Values["app"]) != "shop" {
				t.Errorf("shop's claim: got %+v, want shop's session only", recs)
			}
			if err := shop.Reap(t.Context(), "id"); err != nil {
				t.Fatal(err)
			}
			recs = claim(t, blog, 10)
			if len(recs) != 1 || string(recs[0].Values["app"]) != "blog" {
				t.Errorf("blog's claim after shop reaped: got %+v, want blog's session", recs)
			}
		})
	})
}

func TestSweep(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("the sweep removes sessions past Retention in batches, and no others", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now, Retention: 10 * time.Minute, SweepBatch: 7})
			for i := range 30 {
				mustCreate(t, s, fmt.Sprintf("old%02d", i), kv("i", "x"), time.Minute)
			}
			mustCreate(t, s, "recent", kv("n", "1"), 5*time.Minute)
			mustCreate(t, s, "live", kv("n", "1"), time.Hour)
			clock.Advance(12 * time.Minute)
			n, err := s.Sweep(t.Context())
			if err != nil || n != 30 {
				t.Errorf("Sweep: got %d, %v, want 30, nil", n, err)
			}
			if got := recordIDs(claim(t, s, 100)); !slices.Equal(got, []string{"recent"}) {
				t.Errorf("ClaimExpired after the sweep: got %v, want [recent]", got)
			}
			if _, found, _ := s.Load(t.Context(), "live", 0); !found {
				t.Errorf("Load of a live session after the sweep: got found=false, want true")
			}
			if n, err := s.Sweep(t.Context()); err != nil || n != 0 {
				t.Errorf("Sweep again: got %d, %v, want 0, nil", n, err)
			}
		})

		t.Run("servers sweeping at once remove everything, without errors", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			const servers, sessions = 4, 300
			stores := make([]*sqlstore.Store, servers)
			for i := range stores {
				stores[i] = newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Retention: time.Minute, SweepBatch: 10})
			}
			for i := range sessions {
				mustCreate(t, stores[0], fmt.Sprintf("%c%03d", 'A'+i%26, i), kv("i", "x"), time.Minute)
			}
			clock.Advance(5 * time.Minute)
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex // protects total
				total int
			)
			for _, s := range stores {
				wg.Go(func() {
					n, err := s.Sweep(t.Context())
					if err != nil {
						t.Errorf("Sweep: got error %v, want nil", err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
			}
			wg.Wait()
			if total != sessions {
				t.Errorf("sweeps removed %d sessions in all, want %d, each once", total, sessions)
			}
			// Every session stopped counting: the limit has all its room.
			for i := range 3 {
				if ok, err := stores[0].Reserve(t.Context(), fmt.Sprint("new", i), 3); err != nil || !ok {
					t.Errorf("Reserve %d of 3 after the sweep: got %v, %v, want true, nil", i+1, ok, err)
				}
			}
		})

		t.Run("the sweep skips rows another transaction holds, and does not wait for them", func(t *testing.T) {
			if b.dialect == sqlstore.SQLite {
				t.Skip("SQLite has no row locks: its writers take turns")
			}
			db := b.open(t)
			clock := fakeclock.New()
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Retention: time.Minute})
			mustCreate(t, s, "held", nil, time.Minute)
			mustCreate(t, s, "free", nil, time.Minute)
			clock.Advance(5 * time.Minute)
			// Another server's claim or sweep, in the middle of its
			// transaction.
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(t.Context(), "SELECT id FROM sessions WHERE id = 'held' FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if n, err := s.Sweep(ctx); err != nil || n != 1 {
				t.Errorf("Sweep while a row is held: got %d, %v, want 1, nil (at once)", n, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Sweep(t.Context()); err != nil || n != 1 {
				t.Errorf("Sweep once the row is free: got %d, %v, want 1, nil", n, err)
			}
		})

		t.Run("the sweeper started by New sweeps, and stops with Close", func(t *testing.T) {
			clock := fakeclock.New()
			db := b.open(t)
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Retention: time.Minute, SweepInterval: 5 * time.Millisecond})
			mustCreate(t, s, "id", nil, time.Minute)
			clock.Advance(3 * time.Minute)
			// Wait for the effect, not for a time: poll the table.
			deadline := time.Now().Add(10 * time.Second)
			for rows(t, db, "sessions") > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the sweeper did not remove a session past Retention within 10s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: got error %v, want nil", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close again: got error %v, want nil", err)
			}
		})
	})
}

// rows returns how many rows table holds.
func rows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count the rows of %s: %v", table, err)
	}
	return n
}

// TestClaimRacingATouch: a request reads the clock an instant before its
// session's expiry, and its touch reaches the database just after another
// server's reaper claimed the session (and handed its values to
// OnExpired). The session must end one way or the other: a claimed session
// is not brought back by a touch, or a touched one is not claimed. Here the
// touch keeps the claimed session alive, and once it expires for real it is
// claimed a second time: OnExpired fires twice for one session, once while
// it was live.
func TestClaimRacingATouch(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		clock := fakeclock.New()
		var (
			armed  bool
			s      *sqlstore.Store
			claims []store.Record
		)
		now := func() time.Time {
			if !armed {
				return clock.Now()
			}
			armed = false
			before := clock.Now() // the request's instant: just before the expiry
			clock.Advance(time.Millisecond)
			claims = append(claims, claim(t, s, 10)...) // another server's reaper, meanwhile
			return before
		}
		s = newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: now})
		mustCreate(t, s, "s1", kv("cart", "3"), 20*time.Minute)
		clock.Advance(20*time.Minute - time.Millisecond)

		armed = true
		found, err := s.Touch(t.Context(), "s1", 20*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if found && len(claims) > 0 {
			t.Errorf("the touch kept session s1 alive after a claim handed it out (%v): want one or the other", recordIDs(claims))
		}
		if err := s.Reap(t.Context(), recordIDs(claims)...); err != nil { // the hook returned nil
			t.Fatal(err)
		}
		clock.Advance(21 * time.Minute)
		claims = append(claims, claim(t, s, 10)...)
		if len(claims) != 1 {
			t.Errorf("session s1 was handed out %d times (%v), want once", len(claims), recordIDs(claims))
		}
	})
}
