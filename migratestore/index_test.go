package migratestore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// inNew stores a session with kv in the new store of r and returns its ID.
func (r *rig) inNew(kv ...string) string {
	r.t.Helper()
	id := newID()
	if err := r.new.Store.Create(r.t.Context(), id, values(kv...), ttl, 0); err != nil {
		r.t.Fatalf("Create in the new store: %v", err)
	}
	return id
}

func TestIndexer(t *testing.T) {
	ctx := t.Context()

	t.Run("Count and List cover both stores, List with a cursor that says which", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		var want []string
		for range 5 {
			want = append(want, r.plant("a", "1"), r.inNew("b", "2"))
		}
		if n, err := r.s.Count(ctx); err != nil || n != 10 {
			t.Errorf("Count: got %d, %v, want 10, nil", n, err)
		}
		var got, cursors []string
		cursor := ""
		for range 20 {
			page, next, err := r.s.List(ctx, cursor, 2)
			if err != nil {
				t.Fatalf("List(%q): %v", cursor, err)
			}
			for _, info := range page {
				got = append(got, info.ID)
			}
			if next == "" {
				break
			}
			cursors = append(cursors, next[:2])
			cursor = next
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("List in pages of 2: got %q, want %q in any order", got, want)
		}
		// The old store's sessions first, then the new store's.
		if i := slices.Index(cursors, "n:"); i < 0 || slices.Contains(cursors[i:], "o:") {
			t.Errorf("List's cursors: got prefixes %q, want o: until the old store ends, then n:", cursors)
		}
		if _, _, err := r.s.List(ctx, "x:1", 2); err == nil {
			t.Errorf("List with a cursor it did not make: got error nil, want one")
		}
	})

	t.Run("Peek finds a session in either store and moves nothing", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		rec, found, err := r.s.Peek(ctx, id)
		if err != nil || !found || format(rec.Values) != "{a=1}" {
			t.Fatalf("Peek: got %s, %v, %v, want {a=1}, true, nil", format(rec.Values), found, err)
		}
		r.wantWhere(id, "old", "after Peek")
	})

	t.Run("Remove ends a session in either store", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		for _, id := range []string{r.plant(store.UserKey, "ann"), r.inNew(store.UserKey, "ann")} {
			info, found, err := r.s.Remove(ctx, id)
			if err != nil || !found || info.ID != id || info.User != "ann" {
				t.Errorf("Remove: got %+v, %v, %v, want the session of ann", info, found, err)
			}
			r.wantWhere(id, "neither", "after Remove")
		}
	})

	t.Run("UserSessions merges both stores, oldest first, a session in both once", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		a := r.plant(store.UserKey, "ann")
		r.clock.Advance(time.Minute)
		b := r.inNew(store.UserKey, "ann")
		r.clock.Advance(time.Minute)
		c := r.plant(store.UserKey, "ann")
		// A session that is being moved is in both stores for a moment.
		if err := r.new.Store.Create(ctx, c, values(store.UserKey, "ann"), ttl, 0); err != nil {
			t.Fatal(err)
		}
		r.plant(store.UserKey, "bob")
		infos, err := r.s.UserSessions(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, info := range infos {
			got = append(got, info.ID)
		}
		if want := []string{a, b, c}; !slices.Equal(got, want) {
			t.Errorf("UserSessions: got %q, want %q", got, want)
		}
	})

	t.Run("without an index in both stores there is none", func(t *testing.T) {
		clock := fakeclock.New()
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		unindexed := redisstore.New(c, redisstore.Config{Now: clock.Now})
		for _, tt := range []struct {
			name     string
			old, new store.Store
		}{
			{"old store without", unindexed, newMem(t, clock)},
			{"new store without", newMem(t, clock), unindexed},
		} {
			s := migratestore.New(tt.old, tt.new, migratestore.Config{Now: clock.Now})
			if s.Indexed() {
				t.Errorf("%s: Indexed: got true, want false", tt.name)
			}
			calls := map[string]func() error{
				"Count":        func() error { _, err := s.Count(ctx); return err },
				"List":         func() error { _, _, err := s.List(ctx, "", 10); return err },
				"Peek":         func() error { _, _, err := s.Peek(ctx, "x"); return err },
				"Remove":       func() error { _, _, err := s.Remove(ctx, "x"); return err },
				"UserSessions": func() error { _, err := s.UserSessions(ctx, "ann"); return err },
				"ClaimExpired": func() error { _, err := s.ClaimExpired(ctx, 10, time.Minute); return err },
				"Reap":         func() error { return s.Reap(ctx, "x") },
				"Reserve":      func() error { _, err := s.Reserve(ctx, "x", 10); return err },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, store.ErrNotIndexed) {
					t.Errorf("%s: %s: got error %v, want ErrNotIndexed", tt.name, name, err)
				}
			}
			onExpired := func(context.Context, session.Expiry) error { return nil }
			if _, err := session.New(session.Config{Store: s, Keys: []session.Key{testKey}, OnExpired: onExpired}); err == nil {
				t.Errorf("%s: session.New with OnExpired: got error nil, want the Manager to refuse it", tt.name)
			}
		}
	})
}
