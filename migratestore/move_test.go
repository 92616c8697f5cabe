package migratestore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

// The tests of this file pause one mover at a chosen call (a gate of
// hooked) and run another call to completion meanwhile: the interleavings
// that a stress test would hit only now and then.

func TestMove(t *testing.T) {
	t.Run("a Load moves the session with what it had left, and deletes it from the old store", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		r.clock.Advance(5 * time.Minute)
		got, found, err := r.s.Load(t.Context(), id, 0)
		if err != nil || !found || format(got) != "{a=1}" {
			t.Fatalf("Load: got %s, %v, %v, want {a=1}, true, nil", format(got), found, err)
		}
		r.wantWhere(id, "new", "after the Load")
		rec, _, _ := r.new.Store.Peek(t.Context(), id)
		if want := r.clock.Now().Add(ttl - 5*time.Minute); !rec.Expires.Equal(want) {
			t.Errorf("the moved session expires at %v, want %v, when it would have in the old store", rec.Expires, want)
		}
	})

	t.Run("a write to a session in the old store lands in the new one, and a rejected write extends nothing", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		r.clock.Advance(5 * time.Minute)
		_, err := r.s.Update(t.Context(), id, store.Delta{Set: values("b", "2", "c", "3")}, time.Hour, 2)
		if !errors.Is(err, store.ErrTooManyKeys) {
			t.Fatalf("Update over maxKeys: got %v, want ErrTooManyKeys", err)
		}
		rec, _, _ := r.new.Store.Peek(t.Context(), id)
		if want := r.clock.Now().Add(ttl - 5*time.Minute); !rec.Expires.Equal(want) {
			t.Errorf("after a rejected Update the session expires at %v, want %v", rec.Expires, want)
		}
		if found, err := r.s.Update(t.Context(), id, store.Delta{Set: values("b", "2")}, time.Hour, 0); err != nil || !found {
			t.Fatalf("Update: got %v, %v, want true, nil", found, err)
		}
		r.wantWhere(id, "new", "after the Update")
		if got, _, _ := r.new.Store.Load(t.Context(), id, 0); format(got) != "{a=1 b=2}" {
			t.Errorf("new store: got %s, want {a=1 b=2}", format(got))
		}
	})

	t.Run("a renewal (Move) of a session in the old store gives the new ID in the new store", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		from := r.plant("a", "1")
		to := from[:1] + "Renewed" + from[8:]
		found, err := r.s.Move(t.Context(), from, to, store.Delta{Set: values(store.UserKey, "ann")}, ttl, 0)
		if err != nil || !found {
			t.Fatalf("Move: got %v, %v, want true, nil", found, err)
		}
		r.wantWhere(from, "neither", "the old ID after the Move")
		r.wantWhere(to, "new", "the new ID after the Move")
		if got, _, _ := r.s.Load(t.Context(), to, 0); format(got) != "{@user=ann a=1}" {
			t.Errorf("Load of the new ID: got %s, want {@user=ann a=1}", format(got))
		}
	})

	t.Run("two movers of one session: one Create wins and the other uses the new store's copy", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		g := r.new.pause("Create", id)
		var (
			got   map[string][]byte
			found bool
			err   error
		)
		first := async(func() { got, found, err = r.s.Load(t.Context(), id, 0) })
		g.wait(t) // the first mover read the session, and waits to create it
		if found, err := r.s.Update(t.Context(), id, store.Delta{Set: values("b", "2")}, ttl, 0); err != nil || !found {
			t.Fatalf("Update by the second mover: got %v, %v, want true, nil", found, err)
		}
		r.calls()
		g.release()
		await(t, first, "the first mover's Load")
		if n := r.new.created.Load(); n != 1 {
			t.Errorf("Creates that stored the session: got %d, want 1", n)
		}
		if err != nil || !found || format(got) != "{a=1 b=2}" {
			t.Errorf("the first mover's Load: got %s, %v, %v, want {a=1 b=2}, true, nil: the new store's copy", format(got), found, err)
		}
		// The loser's Create (made before the pause) failed, and it left
		// the old store to the winner.
		if got, want := r.calls(), []string{"new.Load"}; !slices.Equal(got, want) {
			t.Errorf("the first mover's calls after its pause: got %q, want %q", got, want)
		}
		r.wantWhere(id, "new", "after both")
	})

	t.Run("a read that misses the new store just before a move, and the old store just after, finds the session", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		g := r.old.pause("Peek", id)
		var (
			got   map[string][]byte
			found bool
		)
		reader := async(func() { got, found, _ = r.s.Load(t.Context(), id, 0) })
		g.wait(t) // the reader missed the new store
		if found, err := r.s.Update(t.Context(), id, store.Delta{Set: values("b", "2")}, ttl, 0); err != nil || !found {
			t.Fatalf("Update that moves the session: got %v, %v, want true, nil", found, err)
		}
		g.release()
		await(t, reader, "the reader's Load")
		if !found || format(got) != "{a=1 b=2}" {
			t.Errorf("the reader's Load: got %s, %v, want {a=1 b=2}, true: a session lost in the move", format(got), found)
		}
	})

	t.Run("an Add racing a move happens once, in the new store", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("n", "10")
		g := r.new.pause("Create", id)
		add := store.Delta{Add: map[string]int64{"n": 1}}
		var first map[string][]byte
		done := async(func() { first, _, _ = r.s.Apply(t.Context(), id, add, ttl, 0) })
		g.wait(t)
		second, found, err := r.s.Apply(t.Context(), id, add, ttl, 0)
		if err != nil || !found {
			t.Fatalf("second Apply: got %v, %v, want true, nil", found, err)
		}
		g.release()
		await(t, done, "the first Apply")
		if sums := []string{string(second["n"]), string(first["n"])}; !slices.Equal(sums, []string{"11", "12"}) {
			t.Errorf("sums of the second and the first Add: got %q, want [11 12]", sums)
		}
		if got, _, _ := r.s.Load(t.Context(), id, 0); string(got["n"]) != "12" {
			t.Errorf("n after two Adds of 1 to 10: got %s, want 12", got["n"])
		}
	})

	t.Run("of two Takes racing a move, one gets the value", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("once", "secret")
		g := r.new.pause("Create", id)
		take := store.Delta{Take: []string{"once"}}
		var first map[string][]byte
		done := async(func() { first, _, _ = r.s.Apply(t.Context(), id, take, ttl, 0) })
		g.wait(t)
		second, found, err := r.s.Apply(t.Context(), id, take, ttl, 0)
		if err != nil || !found {
			t.Fatalf("second Apply: got %v, %v, want true, nil", found, err)
		}
		g.release()
		await(t, done, "the first Apply")
		if got := format(second) + format(first); got != "{once=secret}{}" {
			t.Errorf("what the second and the first Take got: %s, want {once=secret}{}", got)
		}
	})

	t.Run("an update between a mover's copy and its delete lands in the copy", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		g := r.old.pause("Delete", id)
		done := async(func() { _, _, _ = r.s.Load(t.Context(), id, 0) })
		g.wait(t) // the copy is in the new store, the old one not deleted yet
		if found, err := r.s.Update(t.Context(), id, store.Delta{Set: values("b", "2")}, ttl, 0); err != nil || !found {
			t.Fatalf("Update: got %v, %v, want true, nil", found, err)
		}
		g.release()
		await(t, done, "the mover's Load")
		r.wantWhere(id, "new", "after both")
		if got, _, _ := r.s.Load(t.Context(), id, 0); format(got) != "{a=1 b=2}" {
			t.Errorf("Load: got %s, want {a=1 b=2}", format(got))
		}
	})
}

// TestMoveRacingLogout is the guard against a logout that a move undoes:
// without moveOver's check of its delete from the old store (undone), the
// copy would keep the session alive in the new store.
func TestMoveRacingLogout(t *testing.T) {
	logouts := []struct {
		name   string
		logout func(r *rig, id string) (bool, error)
	}{
		{"Delete", func(r *rig, id string) (bool, error) { return r.s.Delete(r.t.Context(), id) }},
		{"Remove", func(r *rig, id string) (bool, error) {
			_, found, err := r.s.Remove(r.t.Context(), id)
			return found, err
		}},
	}
	for _, lo := range logouts {
		t.Run(lo.name+" while the mover has read the session, before it copies it", func(t *testing.T) {
			r := newRig(t, migratestore.Config{})
			id := r.plant("a", "1")
			g := r.new.pause("Create", id)
			var found bool
			done := async(func() { _, found, _ = r.s.Load(t.Context(), id, 0) })
			g.wait(t)
			if ended, err := lo.logout(r, id); err != nil || !ended {
				t.Fatalf("%s: got %v, %v, want true, nil", lo.name, ended, err)
			}
			g.release()
			await(t, done, "the mover's Load")
			if found {
				t.Errorf("the mover's Load: got found=true, want false: the session ended before it was copied")
			}
			r.wantWhere(id, "neither", "after the logout and the move")
			if _, found, _ := r.s.Load(t.Context(), id, 0); found {
				t.Errorf("Load after both: got found=true, want false")
			}
		})

		t.Run(lo.name+" between the mover's copy and its delete", func(t *testing.T) {
			r := newRig(t, migratestore.Config{})
			id := r.plant("a", "1")
			g := r.old.pause("Delete", id)
			done := async(func() { _, _, _ = r.s.Load(t.Context(), id, 0) })
			g.wait(t)
			if ended, err := lo.logout(r, id); err != nil || !ended {
				t.Fatalf("%s: got %v, %v, want true, nil", lo.name, ended, err)
			}
			g.release()
			await(t, done, "the mover's Load")
			r.wantWhere(id, "neither", "after the logout and the move")
		})
	}
}

func TestMoveRacingExpiry(t *testing.T) {
	t.Run("a session that expires in the old store while it moves expires once, from the old store", func(t *testing.T) {
		r := newRig(t, migratestore.Config{})
		id := r.plant("a", "1")
		r.clock.Advance(ttl - time.Second)
		g := r.old.pause("Delete", id)
		done := async(func() { _, _, _ = r.s.Load(t.Context(), id, 0) })
		g.wait(t) // copied with the second it had left
		r.clock.Advance(time.Minute)
		g.release()
		await(t, done, "the mover's Load")
		recs, err := r.s.ClaimExpired(t.Context(), 10, time.Minute)
		if err != nil {
			t.Fatalf("ClaimExpired: %v", err)
		}
		if len(recs) != 1 || recs[0].ID != id || format(recs[0].Values) != "{a=1}" {
			t.Errorf("ClaimExpired: got %d records %v, want the session once, with {a=1}", len(recs), recs)
		}
	})
}

func TestRoundTrips(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		call func(r *rig, id string)
		in   string // where the session is: "old", "new" or "" for nowhere
		want []string
	}{
		{"Load of a session in the new store", func(r *rig, id string) { _, _, _ = r.s.Load(ctx, id, 0) }, "new",
			[]string{"new.Load"}},
		{"Load of a session in the old store", func(r *rig, id string) { _, _, _ = r.s.Load(ctx, id, 0) }, "old",
			[]string{"new.Load", "old.Peek", "new.Create", "old.Delete"}},
		{"Load with a ttl of a session in the old store", func(r *rig, id string) { _, _, _ = r.s.Load(ctx, id, ttl) }, "old",
			[]string{"new.Load", "old.Load", "new.Create", "old.Delete"}},
		{"Load of a session in neither", func(r *rig, id string) { _, _, _ = r.s.Load(ctx, id, 0) }, "",
			[]string{"new.Load", "old.Peek", "new.Load"}},
		{"Update of a session in the new store", func(r *rig, id string) { _, _ = r.s.Update(ctx, id, store.Delta{}, ttl, 0) }, "new",
			[]string{"new.Apply"}},
		{"Update of a session in the old store", func(r *rig, id string) { _, _ = r.s.Update(ctx, id, store.Delta{}, ttl, 0) }, "old",
			[]string{"new.Apply", "old.Peek", "new.Create", "old.Delete", "new.Apply"}},
		{"Update of a session in neither", func(r *rig, id string) { _, _ = r.s.Update(ctx, id, store.Delta{}, ttl, 0) }, "",
			[]string{"new.Apply", "old.Peek", "new.Apply"}},
		{"Touch of a session in the old store", func(r *rig, id string) { _, _ = r.s.Touch(ctx, id, ttl) }, "old",
			[]string{"new.Touch", "old.Load", "new.Create", "old.Delete"}},
		{"Delete", func(r *rig, id string) { _, _ = r.s.Delete(ctx, id) }, "new",
			[]string{"old.Delete", "new.Delete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, migratestore.Config{})
			id := newID()
			switch tt.in {
			case "old":
				id = r.plant("a", "1")
			case "new":
				if err := r.new.Store.Create(ctx, id, values("a", "1"), ttl, 0); err != nil {
					t.Fatal(err)
				}
			}
			r.calls()
			tt.call(r, id)
			if got := r.calls(); !slices.Equal(got, tt.want) {
				t.Errorf("calls: got %q, want %q", got, tt.want)
			}
		})
	}
}
