package migratestore_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/migratestore"
)

func TestExpirer(t *testing.T) {
	t.Run("ClaimExpired hands out the expired sessions of both stores, each once, in full batches until the last", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		var want []string
		for range 3 {
			want = append(want, r.plant("a", "1"), r.inNew("b", "2"))
		}
		// A stale copy: expired in the old store, live in the new one.
		stale := r.plant("c", "3")
		r.clock.Advance(ttl + time.Minute)
		if err := r.new.Store.Create(t.Context(), stale, values("c", "3"), ttl, 0); err != nil {
			t.Fatal(err)
		}
		var got []string
		var sizes []int
		for range 10 {
			recs, err := r.s.ClaimExpired(t.Context(), 2, time.Minute)
			if err != nil {
				t.Fatalf("ClaimExpired: %v", err)
			}
			sizes = append(sizes, len(recs))
			for _, rec := range recs {
				got = append(got, rec.ID)
			}
			if len(recs) < 2 {
				break
			}
		}
		if fmt.Sprint(sizes) != "[2 2 2 0]" {
			t.Errorf("batches of ClaimExpired(2) over 6 sessions: got %v, want [2 2 2 0]", sizes)
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("claimed: got %q, want %q in any order, each once", got, want)
		}
		if err := r.s.Reap(t.Context(), got...); err != nil {
			t.Fatalf("Reap: %v", err)
		}
		r.clock.Advance(2 * time.Minute) // past the leases
		if recs, err := r.s.ClaimExpired(t.Context(), 10, time.Minute); err != nil || len(recs) != 0 {
			t.Errorf("ClaimExpired after Reap: got %d records, %v, want none", len(recs), err)
		}
	})

	t.Run("a copy left in the old store by a failed delete never fires as an expiry", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		r.old.fail("Delete", id, errors.New("the old store is down"))
		if _, _, err := r.s.Load(t.Context(), id, 0); err == nil {
			t.Fatalf("Load whose delete from the old store failed: got error nil, want it")
		}
		r.wantWhere(id, "both", "after the failed delete")
		// The client goes on with the copy; the old one expires.
		if found, err := r.s.Touch(t.Context(), id, time.Hour); err != nil || !found {
			t.Fatalf("Touch: got %v, %v, want true, nil", found, err)
		}
		r.clock.Advance(ttl + time.Minute)
		recs, err := r.s.ClaimExpired(t.Context(), 10, time.Minute)
		if err != nil || len(recs) != 0 {
			t.Errorf("ClaimExpired: got %d records, error %v, want none: the session is live", len(recs), err)
		}
		if recs, _ := r.old.Store.ClaimExpired(t.Context(), 10, time.Minute); len(recs) != 0 {
			t.Errorf("the old store's ClaimExpired: got %d records, want none: the stale copy is reaped", len(recs))
		}
	})
}
