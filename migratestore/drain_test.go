package migratestore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

func TestRemaining(t *testing.T) {
	ctx := t.Context()

	t.Run("MoveAll moves every session of the old store, each with the expiry it had", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		var ids []string
		for range 250 { // three pages
			ids = append(ids, r.plant("a", "1"))
			r.clock.Advance(time.Second)
		}
		r.inNew("b", "2")
		if n, err := r.s.Remaining(ctx); err != nil || n != 250 {
			t.Fatalf("Remaining before: got %d, %v, want 250, nil", n, err)
		}
		moved, err := r.s.MoveAll(ctx)
		if err != nil || moved != 250 {
			t.Fatalf("MoveAll: got %d, %v, want 250, nil", moved, err)
		}
		if n, err := r.s.Remaining(ctx); err != nil || n != 0 {
			t.Errorf("Remaining after MoveAll: got %d, %v, want 0, nil", n, err)
		}
		for i, id := range []string{ids[0], ids[249]} {
			rec, found, _ := r.new.Store.Peek(ctx, id)
			planted := r.clock.Now().Add(-250 * time.Second).Add(time.Duration(i*249) * time.Second)
			if !found || !rec.Expires.Equal(planted.Add(ttl)) {
				t.Errorf("session %d in the new store: got found=%v, expires %v, want true, %v", i*249, found, rec.Expires, planted.Add(ttl))
			}
		}
		if moved, err := r.s.MoveAll(ctx); err != nil || moved != 0 {
			t.Errorf("MoveAll again: got %d, %v, want 0, nil", moved, err)
		}
	})

	t.Run("without MoveAll the old store empties when its sessions expire", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		for range 3 {
			r.plant("a", "1")
		}
		r.clock.Advance(ttl)
		if n, err := r.s.Remaining(ctx); err != nil || n != 0 {
			t.Errorf("Remaining a ttl later: got %d, %v, want 0, nil", n, err)
		}
	})

	t.Run("MoveAll moves nothing while the Store reads through", func(t *testing.T) {
		// Every fake clock starts at the same instant.
		r := newRig(t, migratestore.Config{MoveFrom: fakeclock.New().Now().Add(time.Hour)})
		id := r.plant("a", "1")
		if _, err := r.s.MoveAll(ctx); !errors.Is(err, migratestore.ErrReadingThrough) {
			t.Errorf("MoveAll before MoveFrom: got error %v, want ErrReadingThrough", err)
		}
		r.wantWhere(id, "old", "after MoveAll")
	})

	t.Run("an old store without an index cannot say what it has left", func(t *testing.T) {
		p := unindexedPair(t)
		s := p.migration(migratestore.Config{})
		if _, err := s.Remaining(ctx); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("Remaining: got error %v, want ErrNotIndexed", err)
		}
		if _, err := s.MoveAll(ctx); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("MoveAll: got error %v, want ErrNotIndexed", err)
		}
	})
}
