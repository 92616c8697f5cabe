package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

// backend is a Redis to run a test against.
type backend struct {
	name string
	// open returns a client for a test, a key prefix that test owns, and a
	// way to move the server's time forward for keys under that prefix.
	open func(t *testing.T) (c redis.UniversalClient, prefix string, advance func(time.Duration))
	// index is whether the test's store keeps the index (Config.Index):
	// see modes.
	index bool
}

// backends are miniredis, which always runs, and a real Redis, which is
// skipped when none is available (see redistest.Client).
var backends = []backend{
	{"on miniredis", func(t *testing.T) (redis.UniversalClient, string, func(time.Duration)) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return c, "session", m.FastForward
	}, false},
	{"on a real Redis", func(t *testing.T) (redis.UniversalClient, string, func(time.Duration)) {
		c := redistest.Client(t)
		prefix := redistest.Prefix(t)
		return c, prefix, func(d time.Duration) { redistest.Advance(t, c, prefix, d) }
	}, false},
}

// modes returns each backend twice: without the index and with it
// (Config.Index), for tests of behaviour both modes share.
func modes(backends []backend) []backend {
	var out []backend
	for _, b := range backends {
		out = append(out, b)
		b.name += ", with the index"
		b.index = true
		out = append(out, b)
	}
	return out
}

func TestConformance(t *testing.T) {
	t.Run("on miniredis", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			m := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			return storetest.Harness{Store: redisstore.New(c, redisstore.Config{}), Advance: m.FastForward}
		})
	})
	t.Run("on a real Redis", func(t *testing.T) {
		c := redistest.Client(t) // one server for all cases, a prefix for each
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			prefix := redistest.Prefix(t)
			return storetest.Harness{
				Store:   redisstore.New(c, redisstore.Config{Prefix: prefix}),
				Advance: func(d time.Duration) { redistest.Advance(t, c, prefix, d) },
			}
		})
	})
}

// TestConformanceIndexed runs the suite on stores that keep the index
// (Config.Index), whose expiry follows a fake clock that each harness moves
// together with the server's.
func TestConformanceIndexed(t *testing.T) {
	t.Run("on miniredis", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			m := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			clock := fakeclock.New()
			return storetest.Harness{
				Store: redisstore.New(c, redisstore.Config{Index: true, Now: clock.Now}), Now: clock.Now, Retention: time.Hour,
				Advance: func(d time.Duration) {
					clock.Advance(d)
					m.FastForward(d)
				},
			}
		})
	})
	t.Run("on a real Redis", func(t *testing.T) {
		c := redistest.Client(t)
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			return indexedHarness(t, c)
		})
	})
}

// indexedHarness returns a harness of an indexed store on c, under a key
// prefix of its own.
func indexedHarness(t *testing.T, c redis.UniversalClient) storetest.Harness {
	prefix := redistest.Prefix(t)
	clock := fakeclock.New()
	return storetest.Harness{
		Store: redisstore.New(c, redisstore.Config{Prefix: prefix, Index: true, Now: clock.Now}), Now: clock.Now, Retention: time.Hour,
		Advance: func(d time.Duration) {
			clock.Advance(d)
			redistest.Advance(t, c, prefix, d)
		},
	}
}

func TestLayout(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("a session is a hash under <Prefix>:<Application>:{<Application>:<c>}:<id> with raw values and @created", func(t *testing.T) {
				c, prefix, _ := b.open(t)
				created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
				s := redisstore.New(c, redisstore.Config{
					Prefix:      prefix,
					Application: "shop",
					Now:         func() time.Time { return created },
				})
				id := "AAECAwQFBgcICQoLDA0ODw"
				vals := map[string][]byte{"user": []byte("42"), "bin": {0, 1, 255}, "@flash": []byte("saved")}
				if err := s.Create(t.Context(), id, vals, time.Hour, 0); err != nil {
					t.Fatalf("Create: got error %v, want nil", err)
				}

				key := prefix + ":shop:{shop:A}:" + id // A: the first character of id
				got, err := c.HGetAll(t.Context(), key).Result()
				if err != nil {
					t.Fatalf("HGETALL %s: got error %v, want nil", key, err)
				}
				want := map[string]string{
					"@created": strconv.FormatInt(created.UnixMilli(), 10),
					"user":     "42",
					"bin":      "\x00\x01\xff",
					"!@flash":  "saved", // escaped: '@' starts metadata fields
				}
				if len(got) != len(want) {
					t.Errorf("HGETALL %s: got %q, want %q", key, got, want)
				}
				for f, v := range want {
					if got[f] != v {
						t.Errorf("HGET %s %s: got %q, want %q", key, f, got[f], v)
					}
				}
				pttl, err := c.PTTL(t.Context(), key).Result()
				if err != nil || pttl <= 59*time.Minute || pttl > time.Hour {
					t.Errorf("PTTL %s: got %v, %v, want about 1h", key, pttl, err)
				}
			})
			t.Run("the default key is session:default:{default:<c>}:<id>", func(t *testing.T) {
				c, _, _ := b.open(t)
				s := redisstore.New(c, redisstore.Config{})
				id := "default-layout-" + strconv.FormatInt(time.Now().UnixNano(), 36)
				key := "session:default:{default:d}:" + id
				t.Cleanup(func() { _ = c.Del(context.Background(), key).Err() }) // t.Context is done by now
				if err := s.Create(t.Context(), id, nil, time.Minute, 0); err != nil {
					t.Fatalf("Create: got error %v, want nil", err)
				}
				if n, err := c.Exists(t.Context(), key).Result(); err != nil || n != 1 {
					t.Errorf("EXISTS %s: got %v, %v, want 1, nil", key, n, err)
				}
			})
		})
	}
}

func TestUpdateRacingDelete(t *testing.T) {
	for _, b := range modes(backends) {
		t.Run(b.name, func(t *testing.T) {
			c, prefix, _ := b.open(t)
			s := redisstore.New(c, redisstore.Config{Prefix: prefix, Index: b.index})
			key := func(id string) string { return prefix + ":default:{default:" + id[:1] + "}:" + id }

			t.Run("an update after a delete reports not found and leaves no key", func(t *testing.T) {
				for _, tt := range []struct {
					d       store.Delta
					maxKeys int
				}{
					{store.Delta{Set: map[string][]byte{"a": []byte("2")}}, 0},
					{store.Delta{Set: map[string][]byte{"a": []byte("2")}}, 5},
					{store.Delta{Clear: true, Set: map[string][]byte{"a": []byte("2")}}, 0},
				} {
					d := tt.d
					id := "deleted-" + strconv.Itoa(tt.maxKeys) + strconv.FormatBool(d.Clear)
					if err := s.Create(t.Context(), id, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
						t.Fatalf("Create: got error %v, want nil", err)
					}
					if _, err := s.Delete(t.Context(), id); err != nil {
						t.Fatalf("Delete: got error %v, want nil", err)
					}
					found, err := s.Update(t.Context(), id, d, time.Hour, tt.maxKeys)
					if err != nil || found {
						t.Errorf("Update(%+v): got %v, %v, want false, nil", d, found, err)
					}
					if n, err := c.Exists(t.Context(), key(id)).Result(); err != nil || n != 0 {
						t.Errorf("EXISTS after Update(%+v): got %v, %v, want 0, nil", d, n, err)
					}
				}
			})

			// racingDelete creates 100 sessions named prefix-<i> and has
			// write(id, i) race a Delete of each: the key must be gone after
			// both, whichever came first.
			racingDelete := func(t *testing.T, prefix, what string, write func(id string, i int) error) {
				for i := range 100 {
					id := prefix + strconv.Itoa(i)
					if err := s.Create(t.Context(), id, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
						t.Fatalf("Create: got error %v, want nil", err)
					}
					var wg sync.WaitGroup
					wg.Go(func() {
						if _, err := s.Delete(t.Context(), id); err != nil {
							t.Errorf("Delete: got error %v, want nil", err)
						}
					})
					wg.Go(func() {
						if err := write(id, i); err != nil {
							t.Errorf("%s: got error %v, want nil", what, err)
						}
					})
					wg.Wait()
					if n, err := c.Exists(t.Context(), key(id)).Result(); err != nil || n != 0 {
						t.Fatalf("EXISTS after Delete and %s: got %v, %v, want 0, nil", what, n, err)
					}
				}
			}

			t.Run("an update concurrent with a delete never brings the session back", func(t *testing.T) {
				racingDelete(t, "race-", "Update", func(id string, i int) error {
					d := store.Delta{Set: map[string][]byte{"b": []byte("2")}}
					_, err := s.Update(t.Context(), id, d, time.Hour, i%2*10)
					return err
				})
			})

			t.Run("an apply that adds and takes, concurrent with a delete, never brings the session back", func(t *testing.T) {
				racingDelete(t, "race-apply-", "Apply", func(id string, i int) error {
					d := store.Delta{Set: map[string][]byte{"b": []byte("2")}, Add: map[string]int64{"n": 1}, Take: []string{"a"}}
					_, _, err := s.Apply(t.Context(), id, d, time.Hour, i%2*10)
					return err
				})
			})
		})
	}
}

func TestMove(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			c, prefix, _ := b.open(t)
			s := redisstore.New(c, redisstore.Config{Prefix: prefix})
			ctx := t.Context()
			key := func(id string) string { return prefix + ":default:{default:" + id[:1] + "}:" + id }
			exists := func(t *testing.T, id string) bool {
				t.Helper()
				n, err := c.Exists(ctx, key(id)).Result()
				if err != nil {
					t.Fatalf("EXISTS %s: got error %v, want nil", key(id), err)
				}
				return n == 1
			}
			create := func(t *testing.T, id string) {
				t.Helper()
				if err := s.Create(ctx, id, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, time.Minute, 0); err != nil {
					t.Fatalf("Create(%s): got error %v, want nil", id, err)
				}
			}
			d := store.Delta{Del: []string{"a"}, Set: map[string][]byte{"c": []byte("3")}}

			t.Run("the session is under the new key with the change applied and the new ttl, and the old key is gone", func(t *testing.T) {
				create(t, "m-found")
				found, err := s.Move(ctx, "m-found", "m-moved", d, time.Hour, 0)
				if err != nil || !found {
					t.Fatalf("Move: got %v, %v, want true, nil", found, err)
				}
				got, err := c.HGetAll(ctx, key("m-moved")).Result()
				if err != nil || len(got) != 3 || got["b"] != "2" || got["c"] != "3" || got["@created"] == "" {
					t.Errorf("HGETALL %s: got %q, %v, want b=2, c=3 and @created", key("m-moved"), got, err)
				}
				if pttl, err := c.PTTL(ctx, key("m-moved")).Result(); err != nil || pttl <= 59*time.Minute || pttl > time.Hour {
					t.Errorf("PTTL %s: got %v, %v, want about 1h", key("m-moved"), pttl, err)
				}
				if exists(t, "m-found") {
					t.Errorf("EXISTS %s: got 1, want 0", key("m-found"))
				}
			})
			t.Run("a missing session is not found and nothing is written", func(t *testing.T) {
				found, err := s.Move(ctx, "m-missing", "m-missing-to", d, time.Hour, 0)
				if err != nil || found {
					t.Errorf("Move: got %v, %v, want false, nil", found, err)
				}
				if exists(t, "m-missing-to") {
					t.Errorf("EXISTS %s: got 1, want 0", key("m-missing-to"))
				}
			})
			t.Run("a move to an ID in use returns ErrExists and changes neither session", func(t *testing.T) {
				create(t, "m-from")
				create(t, "m-taken")
				if _, err := s.Move(ctx, "m-from", "m-taken", d, time.Hour, 0); !errors.Is(err, store.ErrExists) {
					t.Errorf("Move: got error %v, want %v", err, store.ErrExists)
				}
				for _, id := range []string{"m-from", "m-taken"} {
					if got, err := c.HGet(ctx, key(id), "a").Result(); err != nil || got != "1" {
						t.Errorf("HGET %s a: got %q, %v, want 1, nil", key(id), got, err)
					}
				}
			})
			t.Run("a move beyond MaxKeys returns ErrTooManyKeys and writes nothing", func(t *testing.T) {
				create(t, "m-full")
				if _, err := s.Move(ctx, "m-full", "m-full-to", d, time.Hour, 1); !errors.Is(err, store.ErrTooManyKeys) {
					t.Errorf("Move: got error %v, want %v", err, store.ErrTooManyKeys)
				}
				if !exists(t, "m-full") || exists(t, "m-full-to") {
					t.Errorf("after a refused Move: want the old key only")
				}
			})
			t.Run("a ttl of zero ends the session", func(t *testing.T) {
				create(t, "m-ending")
				found, err := s.Move(ctx, "m-ending", "m-ended", d, 0, 0)
				if err != nil || !found {
					t.Errorf("Move: got %v, %v, want true, nil", found, err)
				}
				if exists(t, "m-ending") || exists(t, "m-ended") {
					t.Errorf("after Move with a ttl of zero: want neither key")
				}
			})
			t.Run("a move to an ID with another first character returns ErrCrossShard and changes nothing", func(t *testing.T) {
				create(t, "m-stays")
				found, err := s.Move(ctx, "m-stays", "x-other", d, time.Hour, 0)
				if !errors.Is(err, redisstore.ErrCrossShard) || found {
					t.Errorf("Move: got %v, %v, want false, %v", found, err, redisstore.ErrCrossShard)
				}
				if err != nil && !strings.Contains(err.Error(), "must start with the same character") {
					t.Errorf("Move: got error %q, want it to say the IDs must start with the same character", err)
				}
				if !exists(t, "m-stays") || exists(t, "x-other") {
					t.Errorf("after a refused Move: want the old key only")
				}
			})
		})
	}
}

func TestMoveRacing(t *testing.T) {
	for _, b := range modes(backends) {
		t.Run(b.name, func(t *testing.T) {
			c, prefix, _ := b.open(t)
			s := redisstore.New(c, redisstore.Config{Prefix: prefix, Index: b.index})
			key := func(id string) string { return prefix + ":default:{default:" + id[:1] + "}:" + id }
			gone := func(t *testing.T, id string) bool {
				t.Helper()
				n, err := c.Exists(t.Context(), key(id)).Result()
				if err != nil {
					t.Fatalf("EXISTS %s: got error %v, want nil", key(id), err)
				}
				return n == 0
			}

			t.Run("a move concurrent with a delete leaves no old key, and a new one only if the move found the session", func(t *testing.T) {
				for i := range 100 {
					from, to := "race-"+strconv.Itoa(i), "renewed-"+strconv.Itoa(i)
					if err := s.Create(t.Context(), from, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
						t.Fatalf("Create: got error %v, want nil", err)
					}
					var (
						wg    sync.WaitGroup
						found bool
					)
					wg.Go(func() {
						if _, err := s.Delete(t.Context(), from); err != nil {
							t.Errorf("Delete: got error %v, want nil", err)
						}
					})
					wg.Go(func() {
						var err error
						d := store.Delta{Set: map[string][]byte{"b": []byte("2")}}
						if found, err = s.Move(t.Context(), from, to, d, time.Hour, i%2*10); err != nil {
							t.Errorf("Move: got error %v, want nil", err)
						}
					})
					wg.Wait()
					if !gone(t, from) {
						t.Fatalf("after Delete and Move: the old key %s exists", key(from))
					}
					if gone(t, to) == found {
						t.Fatalf("after Delete and Move that reported found=%v: the new key exists: %v, want %v", found, !gone(t, to), found)
					}
				}
			})

			t.Run("a move concurrent with updates leaves no old key and keeps every update that found the session", func(t *testing.T) {
				const updates = 4
				for i := range 50 {
					from, to := "race-update-"+strconv.Itoa(i), "renewed-update-"+strconv.Itoa(i)
					if err := s.Create(t.Context(), from, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
						t.Fatalf("Create: got error %v, want nil", err)
					}
					var (
						wg      sync.WaitGroup
						moved   bool
						updated [updates]bool
					)
					wg.Go(func() {
						var err error
						if moved, err = s.Move(t.Context(), from, to, store.Delta{}, time.Hour, i%2*10); err != nil {
							t.Errorf("Move: got error %v, want nil", err)
						}
					})
					for j := range updates {
						wg.Go(func() {
							var err error
							d := store.Delta{Set: map[string][]byte{"u" + strconv.Itoa(j): []byte("1")}}
							if updated[j], err = s.Update(t.Context(), from, d, time.Hour, i%2*10); err != nil {
								t.Errorf("Update: got error %v, want nil", err)
							}
						})
					}
					wg.Wait()
					if !moved {
						t.Fatalf("Move: got found=false, want true: nothing deleted the session")
					}
					if !gone(t, from) {
						t.Fatalf("after Move and Update: the old key %s exists", key(from))
					}
					values, found, err := s.Load(t.Context(), to, 0)
					if err != nil || !found {
						t.Fatalf("Load(to): got %v, %v, want true, nil", found, err)
					}
					for j, ok := range updated {
						field := "u" + strconv.Itoa(j)
						if _, kept := values[field]; kept != ok {
							t.Errorf("update %d reported found=%v; under the new ID its value is there: %v, want %v", j, ok, kept, ok)
						}
					}
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0", ContextTimeoutEnabled: true}) // never dialed
	defer c.Close()
	for _, cfg := range []redisstore.Config{
		{Prefix: "a{b"},
		{Application: "x}"},
	} {
		t.Run("a brace in the key layout panics at construction: "+cfg.Prefix+cfg.Application, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v): got no panic, want one", cfg)
				}
			}()
			redisstore.New(c, cfg)
		})
	}
	t.Run("a nil client panics at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("New(nil): got no panic, want one")
			}
		}()
		redisstore.New(nil, redisstore.Config{})
	})
}
