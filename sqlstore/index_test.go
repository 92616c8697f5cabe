package sqlstore_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// forEach runs test once per backend, as a subtest named for it.
func forEach(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// mustCreate stores a session or fails the test.
func mustCreate(t *testing.T, s store.Store, id string, vals map[string][]byte, ttl time.Duration) {
	t.Helper()
	if err := s.Create(t.Context(), id, vals, ttl, 0); err != nil {
		t.Fatalf("Create(%s): got error %v, want nil", id, err)
	}
}

// kv builds a value map from key, value pairs of strings.
func kv(pairs ...string) map[string][]byte {
	m := make(map[string][]byte)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = []byte(pairs[i+1])
	}
	return m
}

// ids returns the IDs of infos.
func ids(infos []store.Info) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.ID
	}
	return out
}

func TestIndexer(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("Count counts live sessions of its application only", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "shop"})
			other := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "blog"})
			mustCreate(t, s, "a", nil, time.Hour)
			mustCreate(t, s, "b", nil, time.Hour)
			mustCreate(t, s, "short", nil, time.Minute)
			mustCreate(t, s, "gone", nil, time.Hour)
			mustCreate(t, other, "a", nil, time.Hour)
			if _, err := s.Delete(t.Context(), "gone"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
			if n, err := s.Count(t.Context()); err != nil || n != 2 {
				t.Errorf("Count: got %d, %v, want 2, nil", n, err)
			}
			if n, err := other.Count(t.Context()); err != nil || n != 1 {
				t.Errorf("Count of the other application: got %d, %v, want 1, nil", n, err)
			}
			if !s.Indexed() {
				t.Errorf("Indexed: got false, want true")
			}
		})

		t.Run("List pages through live sessions in ID order, each once", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
			other := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "other"})
			var want []string
			for _, id := range []string{"e", "a", "d", "b", "c", "g"} {
				mustCreate(t, s, id, nil, time.Hour)
				want = append(want, id)
			}
			mustCreate(t, s, "expired", nil, time.Minute)
			mustCreate(t, other, "f", nil, time.Hour)
			clock.Advance(2 * time.Minute)
			slices.Sort(want)
			var got []string
			cursor, pages := "", 0
			for {
				page, next, err := s.List(t.Context(), cursor, 4)
				if err != nil {
					t.Fatalf("List: got error %v, want nil", err)
				}
				got = append(got, ids(page)...)
				pages++
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, want) || pages != 2 {
				t.Errorf("List: got %v in %d pages, want %v in 2", got, pages, want)
			}
			if page, next, err := s.List(t.Context(), "", 0); err != nil || len(page) != 0 || next != "" {
				t.Errorf("List with limit 0: got %v, %q, %v, want nothing", page, next, err)
			}
		})

		t.Run("Peek returns values and metadata without setting the expiry", func(t *testing.T) {
			clock := fakeclock.New()
			created := clock.Now()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			vals := kv(store.UserKey, "ann", store.LabelKey, "Firefox on Linux", "cart", "3")
			mustCreate(t, s, "id", vals, time.Hour)
			clock.Advance(10 * time.Minute)
			if _, _, err := s.Load(t.Context(), "id", time.Hour); err != nil {
				t.Fatal(err)
			}
			touched := clock.Now()
			clock.Advance(10 * time.Minute)
			rec, found, err := s.Peek(t.Context(), "id")
			if err != nil || !found {
				t.Fatalf("Peek: got %v, %v, want true, nil", found, err)
			}
			want := store.Info{ID: "id", User: "ann", Label: "Firefox on Linux", Created: created, LastAccess: touched, Expires: touched.Add(time.Hour)}
			if !sameInfo(rec.Info, want) {
				t.Errorf("Peek: got %+v, want %+v", rec.Info, want)
			}
			if !maps.EqualFunc(rec.Values, vals, slices.Equal) {
				t.Errorf("Peek values: got %q, want %q", rec.Values, vals)
			}
			// Peek did not extend it: it expires an hour after the Load.
			clock.Advance(51 * time.Minute)
			if _, found, _ := s.Peek(t.Context(), "id"); found {
				t.Errorf("Peek after the expiry: got found=true, want false")
			}
		})

		t.Run("LastAccess is when the expiry was last set", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			ctx := t.Context()
			calls := []struct {
				name  string
				call  func(id string) error
				moves bool // the session is then under id+"-moved"
				sets  bool // LastAccess moves
			}{
				{"Load without a ttl", func(id string) error { _, _, err := s.Load(ctx, id, 0); return err }, false, false},
				{"Peek", func(id string) error { _, _, err := s.Peek(ctx, id); return err }, false, false},
				{"Load with a ttl", func(id string) error { _, _, err := s.Load(ctx, id, time.Hour); return err }, false, true},
				{"Touch", func(id string) error { _, err := s.Touch(ctx, id, time.Hour); return err }, false, true},
				{"Update", func(id string) error {
					_, err := s.Update(ctx, id, store.Delta{Set: kv("a", "1")}, time.Hour, 0)
					return err
				}, false, true},
				{"Update that deletes", func(id string) error {
					_, err := s.Update(ctx, id, store.Delta{Del: []string{"a"}}, time.Hour, 0)
					return err
				}, false, true},
				{"Move", func(id string) error {
					_, err := s.Move(ctx, id, id+"-moved", store.Delta{}, time.Hour, 0)
					return err
				}, true, true},
			}
			created := clock.Now()
			for _, c := range calls {
				mustCreate(t, s, c.name, nil, time.Hour)
			}
			clock.Advance(time.Minute)
			for _, c := range calls {
				if err := c.call(c.name); err != nil {
					t.Fatalf("%s: got error %v, want nil", c.name, err)
				}
				id := c.name
				if c.moves {
					id += "-moved"
				}
				rec, found, err := s.Peek(ctx, id)
				if err != nil || !found {
					t.Fatalf("Peek after %s: got %v, %v", c.name, found, err)
				}
				want := created
				if c.sets {
					want = clock.Now()
				}
				if !rec.LastAccess.Equal(want) || !rec.Created.Equal(created) {
					t.Errorf("after %s: got LastAccess %v, Created %v, want %v, %v", c.name, rec.LastAccess, rec.Created, want, created)
				}
			}
		})

		t.Run("Remove returns what it removed; an expired session is not removed", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			mustCreate(t, s, "id", kv(store.UserKey, "ann"), time.Hour)
			mustCreate(t, s, "short", kv(store.UserKey, "bob"), time.Minute)
			info, found, err := s.Remove(t.Context(), "id")
			if err != nil || !found || info.ID != "id" || info.User != "ann" {
				t.Errorf("Remove: got %+v, %v, %v, want ann's session, true, nil", info, found, err)
			}
			if _, found, _ := s.Load(t.Context(), "id", 0); found {
				t.Errorf("Load after Remove: got found=true, want false")
			}
			if _, found, err := s.Remove(t.Context(), "id"); err != nil || found {
				t.Errorf("Remove again: got %v, %v, want false, nil", found, err)
			}
			clock.Advance(2 * time.Minute)
			if _, found, err := s.Remove(t.Context(), "short"); err != nil || found {
				t.Errorf("Remove of an expired session: got %v, %v, want false, nil", found, err)
			}
			recs, err := s.ClaimExpired(t.Context(), 10, time.Minute)
			if err != nil || len(recs) != 1 || recs[0].ID != "short" {
				t.Errorf("ClaimExpired after Remove of an expired session: got %v, %v, want it", recs, err)
			}
		})

		t.Run("UserSessions lists a user's live sessions, oldest first, as the user key changes", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
			other := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "other"})
			ctx := t.Context()
			mustCreate(t, s, "phone", kv(store.UserKey, "ann", store.LabelKey, "phone"), time.Hour)
			clock.Advance(time.Second)
			mustCreate(t, s, "laptop", nil, time.Hour) // logs in later, by Update
			clock.Advance(time.Second)
			mustCreate(t, s, "bob", kv(store.UserKey, "bob"), time.Hour)
			mustCreate(t, s, "short", kv(store.UserKey, "ann"), time.Minute)
			mustCreate(t, other, "elsewhere", kv(store.UserKey, "ann"), time.Hour)
			if _, err := s.Update(ctx, "laptop", store.Delta{Set: kv(store.UserKey, "ann")}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
			check := func(step string, want ...string) {
				t.Helper()
				got, err := s.UserSessions(ctx, "ann")
				if err != nil || !slices.Equal(ids(got), want) {
					t.Errorf("%s: UserSessions: got %v, %v, want %v, nil", step, ids(got), err, want)
				}
			}
			check("at first", "phone", "laptop")
			mustCreate(t, s, "nobody", kv(store.UserKey, ""), time.Hour)
			if got, err := s.UserSessions(ctx, ""); err != nil || len(got) != 0 {
				t.Errorf(`UserSessions(""): got %v, %v, want none: an empty user is no user`, ids(got), err)
			}
			// A renewal keeps the session (and its Created) under a new ID.
			if _, err := s.Move(ctx, "phone", "phone2", store.Delta{}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			check("after a move", "phone2", "laptop")
			if _, err := s.Update(ctx, "laptop", store.Delta{Del: []string{store.UserKey}}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			check("after the user key is deleted", "phone2")
			if _, err := s.Update(ctx, "laptop", store.Delta{Set: kv(store.UserKey, "ann")}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, "laptop", store.Delta{Clear: true, Set: kv("x", "1")}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			check("after a clear, which keeps the metadata", "phone2", "laptop")
			if _, err := s.Update(ctx, "bob", store.Delta{Set: kv(store.UserKey, "ann")}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			check("after another user's session changed hands", "phone2", "laptop", "bob")
			if _, err := s.Delete(ctx, "phone2"); err != nil {
				t.Fatal(err)
			}
			check("after a delete", "laptop", "bob")
		})
	})
}

// sameInfo compares Infos, times by instant.
func sameInfo(a, b store.Info) bool {
	return a.ID == b.ID && a.User == b.User && a.Label == b.Label &&
		a.Created.Equal(b.Created) && a.LastAccess.Equal(b.LastAccess) && a.Expires.Equal(b.Expires)
}
