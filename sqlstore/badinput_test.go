package sqlstore_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// hostile are strings that would break a statement built by concatenation,
// or a decoder that assumes text.
var hostile = []string{
	`'; DROP TABLE sessions; --`,
	`" OR 1=1 --`,
	`\`, `\\x00`, `$1`, `?`, `?1`, `{T}`, `%s`, `*/ SELECT 1 /*`,
	"\x00", "nul\x00in the middle", "\xff\xfe not UTF-8 \xc3\x28",
	"",
}

func TestBadInput(t *testing.T) {
	// Every byte value, 256 times: 64 KiB.
	big := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 256)
	longKey := string(big[:128]) // the middleware's default MaxKeyLength
	forEach(t, func(t *testing.T, b backend) {
		t.Run("keys and values at the limits round-trip byte for byte through every path", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			ctx := t.Context()
			vals := map[string][]byte{longKey: big, "empty": {}, store.UserKey: []byte("ann\x00\xff")}
			for i, h := range hostile {
				vals[h] = append([]byte(h), byte(i))
			}
			want := maps.Clone(vals)
			check := func(step, id string) {
				t.Helper()
				got, found, err := s.Load(ctx, id, 0)
				if err != nil || !found {
					t.Fatalf("%s: Load: got %v, %v, want true, nil", step, found, err)
				}
				if !maps.EqualFunc(got, want, bytes.Equal) {
					for k := range want {
						if !bytes.Equal(got[k], want[k]) {
							t.Errorf("%s: value of key %q: got %d bytes, want %d", step, k, len(got[k]), len(want[k]))
						}
					}
					if len(got) != len(want) {
						t.Errorf("%s: got %d keys, want %d", step, len(got), len(want))
					}
				}
			}
			mustCreate(t, s, "Aid", vals, time.Hour)
			check("Create", "Aid")
			// Set only (PostgreSQL's one statement), then with a delete
			// (the transaction).
			set := map[string][]byte{longKey: slices.Clone(big[1:]), "\x00": []byte("again")}
			if _, err := s.Update(ctx, "Aid", store.Delta{Set: set}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			maps.Copy(want, set)
			check("Update that sets", "Aid")
			del := []string{hostile[0], "\xff\xfe not UTF-8 \xc3\x28"}
			if _, err := s.Update(ctx, "Aid", store.Delta{Del: del, Set: map[string][]byte{"": big}}, time.Hour, 100); err != nil {
				t.Fatal(err)
			}
			for _, k := range del {
				delete(want, k)
			}
			want[""] = big
			check("Update that deletes", "Aid")
			// Apply: the keys it reads, adds to and takes go through hex
			// too.
			counter := "\x00\xff counter \xc3\x28"
			got, _, err := s.Apply(ctx, "Aid", store.Delta{Add: map[string]int64{counter: 2, longKey: 0}, Take: []string{""}}, time.Hour, 0)
			if !errors.Is(err, store.ErrNotInteger) {
				t.Errorf("Apply adding to a value of 64 KiB: got %v, error %v, want %v", got, err, store.ErrNotInteger)
			}
			if got, _, err = s.Apply(ctx, "Aid", store.Delta{Add: map[string]int64{counter: 2}, Take: []string{"", counter}}, time.Hour, 0); err != nil ||
				!bytes.Equal(got[""], big) || string(got[counter]) != "2" {
				t.Errorf("Apply: got %d bytes of %q and %q of the counter, %v, want the 64 KiB value and 2", len(got[""]), "", got[counter], err)
			}
			delete(want, "")
			check("Apply", "Aid")
			if _, err := s.Move(ctx, "Aid", "Amoved", store.Delta{Set: map[string][]byte{"moved": big}}, time.Hour, 100); err != nil {
				t.Fatal(err)
			}
			want["moved"] = big
			check("Move", "Amoved")
			rec, _, err := s.Peek(ctx, "Amoved")
			if err != nil || !maps.EqualFunc(rec.Values, want, bytes.Equal) || rec.User != "ann\x00\xff" {
				t.Errorf("Peek: got user %q and %d values, %v, want them as stored", rec.User, len(rec.Values), err)
			}
			if u, err := s.UserSessions(ctx, "ann\x00\xff"); err != nil || len(u) != 1 {
				t.Errorf("UserSessions of a user with a NUL byte: got %v, %v, want the session", u, err)
			}
			clock.Advance(61 * time.Minute) // expired, within Retention
			recs := claim(t, s, 10)
			if len(recs) != 1 || !maps.EqualFunc(recs[0].Values, want, bytes.Equal) {
				t.Errorf("ClaimExpired: got %d records, want the session with its values", len(recs))
			}
		})

		t.Run("hostile IDs, applications and events are only ever data", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			for _, h := range hostile {
				if h == "" {
					continue // the default application
				}
				if !utf8.ValidString(h) || strings.ContainsRune(h, 0) {
					continue // see "IDs and applications that text cannot hold"
				}
				s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: h, PollInterval: time.Millisecond})
				ctx := t.Context()
				id := h + "-id"
				mustCreate(t, s, id, map[string][]byte{h: []byte(h)}, time.Minute)
				if got, found, err := s.Load(ctx, id, time.Minute); err != nil || !found || string(got[h]) != h {
					t.Errorf("app %q: Load: got %q, %v, %v", h, got, found, err)
				}
				if ok, err := s.Reserve(ctx, h, 0); err != nil || !ok {
					t.Errorf("app %q: Reserve: got %v, %v", h, ok, err)
				}
				r := newReceived()
				subscribe(t, s, r)
				e := store.Event{Kind: store.Destroyed, ID: id, User: h, Reason: strings.ToValidUTF8(h, "?")}
				if err := s.Publish(ctx, e); err != nil {
					t.Errorf("app %q: Publish: %v", h, err)
				} else if got := r.wait(t, 1); got[0] != e {
					t.Errorf("app %q: got event %+v, want %+v", h, got[0], e)
				}
				clock.Advance(2 * time.Minute)
				recs := claim(t, s, 10)
				if len(recs) != 1 || recs[0].ID != id {
					t.Fatalf("app %q: ClaimExpired: got %v, want [%q]", h, recordIDs(recs), id)
				}
				if err := s.Reap(ctx, id); err != nil {
					t.Errorf("app %q: Reap: %v", h, err)
				}
				clock.Advance(2 * time.Minute)
				if recs := claim(t, s, 10); len(recs) != 0 {
					t.Errorf("app %q: ClaimExpired after Reap: got %v, want none", h, recordIDs(recs))
				}
			}
			if n := rows(t, db, "sessions_apps"); n != len(hostile)-4 {
				t.Errorf("applications registered: got %d, want %d (the tables are intact)", n, len(hostile)-4)
			}
		})

		t.Run("IDs and applications that text cannot hold are refused, or not found", func(t *testing.T) {
			db := b.open(t)
			ctx := t.Context()
			s := newStore(t, db, b.dialect, sqlstore.Config{})
			for _, bad := range []string{"\x00", "a\x00b", "\xff\xfe", "\xc3\x28"} {
				if _, err := sqlstore.New(db, sqlstore.Config{Dialect: b.dialect, Application: bad}); err == nil ||
					!strings.Contains(err.Error(), "Config.Application") {
					t.Errorf("New with Application %q: got error %v, want one about Config.Application", bad, err)
				}
				if err := s.Create(ctx, bad, nil, time.Hour, 0); err == nil || !strings.Contains(err.Error(), "UTF-8") {
					t.Errorf("Create(%q): got error %v, want one about UTF-8", bad, err)
				}
				if _, err := s.Reserve(ctx, bad, 0); err == nil {
					t.Errorf("Reserve(%q): got error nil, want one", bad)
				}
				mustCreate(t, s, "Agood", nil, time.Hour)
				if _, err := s.Move(ctx, "Agood", bad, store.Delta{}, time.Hour, 0); err == nil {
					t.Errorf("Move to %q: got error nil, want one", bad)
				}
				for name, call := range map[string]func() (bool, error){
					"Load":   func() (bool, error) { _, f, err := s.Load(ctx, bad, time.Hour); return f, err },
					"Update": func() (bool, error) { return s.Update(ctx, bad, store.Delta{Set: kv("a", "1")}, time.Hour, 0) },
					"Apply": func() (bool, error) {
						_, f, err := s.Apply(ctx, bad, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"a"}}, time.Hour, 0)
						return f, err
					},
					"Touch":  func() (bool, error) { return s.Touch(ctx, bad, time.Hour) },
					"Move":   func() (bool, error) { return s.Move(ctx, bad, "Anew", store.Delta{}, time.Hour, 0) },
					"Delete": func() (bool, error) { return s.Delete(ctx, bad) },
					"Peek":   func() (bool, error) { _, f, err := s.Peek(ctx, bad); return f, err },
					"Remove": func() (bool, error) { _, f, err := s.Remove(ctx, bad); return f, err },
				} {
					if found, err := call(); found || err != nil {
						t.Errorf("%s(%q): got %v, %v, want false, nil", name, bad, found, err)
					}
				}
				if err := s.Reap(ctx, bad); err != nil {
					t.Errorf("Reap(%q): got error %v, want nil", bad, err)
				}
				if _, err := s.Delete(ctx, "Agood"); err != nil {
					t.Fatal(err)
				}
			}
		})
	})
}

// TestBadInputLongKeys: values are stored byte for byte up to 64 KiB, and
// so are keys on SQLite. On PostgreSQL a key longer than the B-tree of the
// values table holds (about 2.7 KB) cannot be stored: the store refuses one
// over MaxPostgresKey with ErrKeyTooLong, which says what to configure,
// before the database fails the write.
func TestBadInputLongKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s, _ := fresh(t, b)
		lengths := []int{sqlstore.MaxPostgresKey, 4 << 10, 64 << 10}
		if b.dialect == sqlstore.Postgres {
			for _, n := range lengths[1:] {
				err := s.Create(t.Context(), "Along", map[string][]byte{noise(n): []byte("v")}, time.Hour, 0)
				if !errors.Is(err, sqlstore.ErrKeyTooLong) {
					t.Errorf("Create with a key of %d bytes on PostgreSQL: got error %v, want ErrKeyTooLong", n, err)
				}
				mustCreate(t, s, "Aother", nil, time.Hour)
				_, _, err = s.Apply(t.Context(), "Aother", store.Delta{Add: map[string]int64{noise(n): 1}}, time.Hour, 0)
				if !errors.Is(err, sqlstore.ErrKeyTooLong) {
					t.Errorf("Apply adding to a key of %d bytes on PostgreSQL: got error %v, want ErrKeyTooLong", n, err)
				}
				if _, err := s.Delete(t.Context(), "Aother"); err != nil {
					t.Fatal(err)
				}
			}
			lengths = lengths[:1]
		}
		for _, n := range lengths {
			key := noise(n)
			if err := s.Create(t.Context(), "Along", map[string][]byte{key: []byte("v")}, time.Hour, 0); err != nil {
				t.Errorf("Create with a key of %d bytes: got error %v, want nil", n, err)
				continue
			}
			got, found, err := s.Load(t.Context(), "Along", 0)
			if err != nil || !found || string(got[key]) != "v" {
				t.Errorf("Load of the key of %d bytes: got %v, %v, want the value", n, found, err)
			}
			if _, err := s.Delete(t.Context(), "Along"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// noise returns n bytes that do not compress (a SHA-256 chain), as a key
// of random bytes would be.
func noise(n int) string {
	var b []byte
	sum := sha256.Sum256(nil)
	for len(b) < n {
		sum = sha256.Sum256(sum[:])
		b = append(b, sum[:]...)
	}
	return string(b[:n])
}
