package redisstore

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
)

// TestUpdateSetUnderLimit checks the update script's path for a Delta that
// only sets values under MaxKeys (luaSetFast) at its edges: exactly at the
// limit, one over, metadata keys that count toward it, a value set again,
// the most values one HSET takes and one more, and a session that is gone,
// which it must not bring back; with Index off and on, which have their own
// scripts but must keep the same promises.
func TestUpdateSetUnderLimit(t *testing.T) {
	values := func(prefix string, n int) map[string][]byte {
		m := make(map[string][]byte, n)
		for i := range n {
			m[prefix+strconv.Itoa(i)] = []byte("v" + strconv.Itoa(i))
		}
		return m
	}
	cases := []struct {
		name    string
		have    int               // values the session holds, "h0"…
		set     map[string][]byte // the Delta's Set
		maxKeys int
		wantErr error
	}{
		{"up to the limit", 2, map[string][]byte{"a": []byte("1")}, 3, nil},
		{"one over the limit", 3, map[string][]byte{"a": []byte("1")}, 3, store.ErrTooManyKeys},
		{"two new, one over", 2, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, 3, store.ErrTooManyKeys},
		{"at the limit, setting a value it holds", 3, map[string][]byte{"h1": []byte("new")}, 3, nil},
		{"metadata keys count", 1, map[string][]byte{store.UserKey: []byte("ann"), "@other": []byte("x")}, 3, nil},
		{"metadata keys count, one over", 2, map[string][]byte{store.UserKey: []byte("ann"), "@other": []byte("x")}, 3, store.ErrTooManyKeys},
		{"no values set, at the limit", 3, map[string][]byte{}, 3, nil},
		{"no values set, over a lowered limit", 3, map[string][]byte{}, 2, store.ErrTooManyKeys},
		{"500 values, one HSET", 0, values("s", 500), 500, nil},
		{"501 values", 0, values("s", 501), 501, nil},
		{"500 values, one over", 1, values("s", 500), 500, store.ErrTooManyKeys},
	}
	for _, indexed := range []bool{false, true} {
		t.Run(fmt.Sprintf("Index %v", indexed), func(t *testing.T) {
			c := redistest.Client(t)
			s := New(c, Config{Prefix: redistest.Prefix(t), Index: indexed})
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					id := "U" + strconv.Itoa(i)
					have := values("h", tc.have)
					if err := s.Create(t.Context(), id, have, time.Minute, 0); err != nil {
						t.Fatalf("Create: %v", err)
					}
					found, err := s.Update(t.Context(), id, store.Delta{Set: tc.set}, time.Hour, tc.maxKeys)
					if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && !found) {
						t.Fatalf("Update: got %v, %v, want found, %v", found, err, tc.wantErr)
					}
					want, ttl := have, time.Minute
					if tc.wantErr == nil {
						ttl = time.Hour
						for k, v := range tc.set {
							want[k] = v
						}
					}
					got, found, err := s.Load(t.Context(), id, 0)
					if err != nil || !found || len(got) != len(want) {
						t.Fatalf("Load: got %d values, %v, %v, want %d, true, nil", len(got), found, err, len(want))
					}
					for k, v := range want {
						if string(got[k]) != string(v) {
							t.Errorf("Load: %q is %q, want %q", k, got[k], v)
						}
					}
					pttl, err := c.PTTL(t.Context(), s.key(id)).Result()
					if indexed {
						ttl += s.retention // the data outlives the session for ClaimExpired
					}
					if err != nil || pttl <= ttl-time.Minute/2 || pttl > ttl {
						t.Errorf("PTTL: got %v, %v, want about %v", pttl, err, ttl)
					}
				})
			}
			t.Run("a session that is gone stays gone", func(t *testing.T) {
				if err := s.Create(t.Context(), "gone", map[string][]byte{"a": []byte("1")}, time.Minute, 0); err != nil {
					t.Fatalf("Create: %v", err)
				}
				if found, err := s.Delete(t.Context(), "gone"); err != nil || !found {
					t.Fatalf("Delete: got %v, %v, want true, nil", found, err)
				}
				for _, id := range []string{"gone", "never"} {
					found, err := s.Update(t.Context(), id, store.Delta{Set: map[string][]byte{"b": []byte("2")}}, time.Hour, 5)
					if err != nil || found {
						t.Errorf("Update of %s: got %v, %v, want false, nil", id, found, err)
					}
					if n, err := c.Exists(t.Context(), s.key(id)).Result(); err != nil || n != 0 {
						t.Errorf("EXISTS %s: got %d, %v, want 0 (not brought back)", id, n, err)
					}
				}
			})
		})
	}
}
