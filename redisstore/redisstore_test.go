package redisstore_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

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
}

// backends are miniredis, which always runs, and a real Redis, which is
// skipped when none is available (see redistest.Client).
var backends = []backend{
	{"on miniredis", func(t *testing.T) (redis.UniversalClient, string, func(time.Duration)) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return c, "session", m.FastForward
	}},
	{"on a real Redis", func(t *testing.T) (redis.UniversalClient, string, func(time.Duration)) {
		c := redistest.Client(t)
		prefix := redistest.Prefix(t)
		return c, prefix, func(d time.Duration) { redistest.Advance(t, c, prefix, d) }
	}},
}

func TestConformance(t *testing.T) {
	t.Run("on miniredis", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			m := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: m.Addr()})
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

func TestLayout(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("a session is a hash under <Prefix>:<Application>:{<id>} with raw values and @created", func(t *testing.T) {
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

				key := prefix + ":shop:{" + id + "}"
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
			t.Run("the default key is session:default:{<id>}", func(t *testing.T) {
				c, _, _ := b.open(t)
				s := redisstore.New(c, redisstore.Config{})
				id := "default-layout-" + strconv.FormatInt(time.Now().UnixNano(), 36)
				key := "session:default:{" + id + "}"
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
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			c, prefix, _ := b.open(t)
			s := redisstore.New(c, redisstore.Config{Prefix: prefix})
			key := func(id string) string { return prefix + ":default:{" + id + "}" }

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
					if err := s.Delete(t.Context(), id); err != nil {
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

			t.Run("an update concurrent with a delete never brings the session back", func(t *testing.T) {
				for i := range 100 {
					id := "race-" + strconv.Itoa(i)
					if err := s.Create(t.Context(), id, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
						t.Fatalf("Create: got error %v, want nil", err)
					}
					var wg sync.WaitGroup
					wg.Go(func() {
						if err := s.Delete(t.Context(), id); err != nil {
							t.Errorf("Delete: got error %v, want nil", err)
						}
					})
					wg.Go(func() {
						d := store.Delta{Set: map[string][]byte{"b": []byte("2")}}
						if _, err := s.Update(t.Context(), id, d, time.Hour, i%2*10); err != nil {
							t.Errorf("Update: got error %v, want nil", err)
						}
					})
					wg.Wait()
					if n, err := c.Exists(t.Context(), key(id)).Result(); err != nil || n != 0 {
						t.Fatalf("EXISTS after Delete and Update: got %v, %v, want 0, nil", n, err)
					}
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"}) // never dialed
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
