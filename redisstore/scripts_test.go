package redisstore

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

// TestAddTakeFastPathAnswersAsTheGeneralPath sends the same arguments of one
// Add or one Take through the apply script and through the same script
// without luaAddTakeFast, on two copies of one session, and holds the fast
// path to the general one's answer, hash and time to live: for a session
// that is missing, values that are canonical integers, almost-integers and
// not integers at all, sums at the edges of doubles and of int64, keys that
// encodeField escapes, and limits under, at and over what the session holds.
func TestAddTakeFastPathAnswersAsTheGeneralPath(t *testing.T) {
	if !strings.HasPrefix(applySource, luaAddTakeFast) {
		t.Fatal("applySource no longer starts with luaAddTakeFast: this test compares the two paths by cutting it off")
	}
	general := redis.NewScript(strings.TrimPrefix(applySource, luaAddTakeFast))
	stored := []string{
		"", "0", "1", "-1", "7", "+1", "01", "-0", "00", " 1", "1 ", "1.0", "1e3", "0x10", "-", "--1", "nan", "inf", "\xff\xfe1", "1\x00",
		"999999999999999", "-999999999999999", "1000000000000000", "-1000000000000000",
		"9007199254740993", "123456789012345678", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999", "000000000000000001",
	}
	increments := []int64{0, 1, -1, 999999999999999, -999999999999999, 1000000000000000, math.MaxInt64, math.MinInt64}
	keys := []string{"n", "@n", "!n", "!@n"}
	type op struct {
		name string
		d    store.Delta
	}
	var ops []op
	for _, k := range keys {
		ops = append(ops, op{fmt.Sprintf("take %q", k), store.Delta{Take: []string{k}}})
		for _, n := range increments {
			ops = append(ops, op{fmt.Sprintf("add %d to %q", n, k), store.Delta{Add: map[string]int64{k: n}}})
		}
	}
	for _, b := range servers {
		t.Run(b.name, func(t *testing.T) {
			c, prefix := b.open(t)
			s := New(c, Config{Prefix: prefix})
			ctx := t.Context()
			i := 0
			// setup writes one session, or none when fields is nil.
			setup := func(key string, fields []any) {
				if fields == nil {
					return
				}
				if err := c.HSet(ctx, key, fields...).Err(); err != nil {
					t.Fatal(err)
				}
				if err := c.PExpire(ctx, key, time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			compare := func(name string, fields []any, d store.Delta, maxKeys int) {
				i++
				id := "F" + strconv.Itoa(i)
				fastKey, generalKey := s.key(id+"f"), s.key(id+"g")
				setup(fastKey, fields)
				setup(generalKey, fields)
				args, _ := addTakeArgs(deltaArgs(d, time.Hour, maxKeys), d)
				fast, fastErr := s.apply.Run(ctx, c, []string{fastKey}, args...).Slice()
				slow, slowErr := general.Run(ctx, c, []string{generalKey}, args...).Slice()
				if fmt.Sprint(fast, fastErr) != fmt.Sprint(slow, slowErr) {
					t.Errorf("%s, MaxKeys %d: the fast path answered %q, %v; the general path %q, %v", name, maxKeys, fast, fastErr, slow, slowErr)
				}
				fastHash, _ := c.HGetAll(ctx, fastKey).Result()
				slowHash, _ := c.HGetAll(ctx, generalKey).Result()
				if !maps.Equal(fastHash, slowHash) {
					t.Errorf("%s, MaxKeys %d: the fast path left %q; the general path %q", name, maxKeys, fastHash, slowHash)
				}
				// Renewed (about an hour) or not (about a minute, or -2 for
				// no key): the two must agree.
				fastTTL, _ := c.PTTL(ctx, fastKey).Result()
				slowTTL, _ := c.PTTL(ctx, generalKey).Result()
				if fastTTL.Round(time.Minute) != slowTTL.Round(time.Minute) {
					t.Errorf("%s, MaxKeys %d: the fast path left a time to live of %v; the general path %v", name, maxKeys, fastTTL, slowTTL)
				}
			}
			for _, o := range ops {
				compare("missing session: "+o.name, nil, o.d, 0)
				var field string
				for k := range o.d.Add {
					field = encodeField(k)
				}
				for _, k := range o.d.Take {
					field = encodeField(k)
				}
				for _, v := range append([]string{"absent"}, stored...) {
					// '@created', other values "a" and a user, and the
					// field unless absent: values counts them.
					fields := []any{"@created", "1", "a", "x", "!@user", "ann"}
					values := 2
					if v != "absent" {
						fields = append(fields, field, v)
						values++
					}
					for _, maxKeys := range []int{0, values - 1, values, values + 1} {
						compare(fmt.Sprintf("%s, holding %q", o.name, v), fields, o.d, maxKeys)
					}
				}
			}
		})
	}
}
