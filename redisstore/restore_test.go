package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
)

// wantCreated fails the test unless session id holds values and '@created'
// and expires within ttl.
func wantCreated(t *testing.T, s *Store, id string, values map[string][]byte, ttl time.Duration) {
	t.Helper()
	got, found, err := s.Load(t.Context(), id, 0)
	if err != nil || !found || len(got) != len(values) {
		t.Fatalf("Load: got %v, %v, %v, want %v, true, nil", got, found, err, values)
	}
	for k, v := range values {
		if string(got[k]) != string(v) {
			t.Errorf("Load: %q is %q, want %q", k, got[k], v)
		}
	}
	if n, err := s.client.HExists(t.Context(), s.key(id), createdField).Result(); err != nil || !n {
		t.Errorf("HEXISTS %s: got %v, %v, want true, nil", createdField, n, err)
	}
	if pttl, err := s.client.PTTL(t.Context(), s.key(id)).Result(); err != nil || pttl <= 0 || pttl > ttl {
		t.Errorf("PTTL: got %v, %v, want within (0, %v]", pttl, err, ttl)
	}
}

// TestCreateRestore checks which way Create writes: with RESTORE on a Redis
// that restores hashes, with the create script where RESTORE is denied or
// does not make a hash, the promises of Create being the same either way.
func TestCreateRestore(t *testing.T) {
	vals := map[string][]byte{"user": []byte(`"ann"`), "@meta": []byte("m"), "empty": {}}
	const ttl = time.Hour
	check := func(t *testing.T, s *Store, want restoreState) {
		t.Helper()
		if err := s.Create(t.Context(), "id", vals, ttl, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got := restoreState(s.restore.Load()); got != want {
			t.Errorf("after the first Create: restore state %d, want %d", got, want)
		}
		wantCreated(t, s, "id", vals, ttl)
		if err := s.Create(t.Context(), "id", map[string][]byte{"user": []byte("other")}, ttl, 0); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create of an existing ID: got error %v, want %v", err, store.ErrExists)
		}
		wantCreated(t, s, "id", vals, ttl)
	}

	t.Run("a Redis that restores hashes creates with RESTORE", func(t *testing.T) {
		check(t, New(redistest.Client(t), Config{Prefix: redistest.Prefix(t)}), restoreWorks)
	})
	t.Run("miniredis, whose RESTORE stores a string, creates with the script", func(t *testing.T) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
		defer c.Close()
		check(t, New(c, Config{}), restoreRefused)
		if keys := m.Keys(); len(keys) != 1 {
			t.Errorf("keys: got %v, want the session's alone (the probe's deleted)", keys)
		}
	})
	t.Run("a user whose ACL denies RESTORE creates with the script", func(t *testing.T) {
		c := redistest.Client(t)
		check(t, New(restricted(t, c), Config{Prefix: redistest.Prefix(t)}), restoreRefused)
	})
	t.Run("RESTORE denied after the probe: Create runs the script from then on", func(t *testing.T) {
		c := redistest.Client(t)
		user := restricted(t, c)
		s := New(user, Config{Prefix: redistest.Prefix(t)})
		if err := c.Do(t.Context(), "ACL", "SETUSER", user.Options().Username, "+restore").Err(); err != nil {
			t.Fatalf("ACL SETUSER +restore: got error %v, want nil", err)
		}
		if err := s.Create(t.Context(), "first", vals, ttl, 0); err != nil || restoreState(s.restore.Load()) != restoreWorks {
			t.Fatalf("Create while RESTORE is allowed: got error %v and state %d, want nil and %d", err, s.restore.Load(), restoreWorks)
		}
		if err := c.Do(t.Context(), "ACL", "SETUSER", user.Options().Username, "-restore").Err(); err != nil {
			t.Fatalf("ACL SETUSER -restore: got error %v, want nil", err)
		}
		if err := s.Create(t.Context(), "id", vals, ttl, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got := restoreState(s.restore.Load()); got != restoreRefused {
			t.Errorf("after RESTORE was refused: state %d, want %d", got, restoreRefused)
		}
		wantCreated(t, s, "id", vals, ttl)
	})
}

// restricted returns a client of the server c talks to, logged in as a
// user of the test's own whose ACL denies RESTORE and allows every other
// command.
func restricted(t *testing.T, c redis.UniversalClient) *redis.Client {
	t.Helper()
	plain, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("redistest.Client: got a %T, want a *redis.Client", c)
	}
	name := redistest.Prefix(t) + "-user"
	if err := c.Do(t.Context(), "ACL", "SETUSER", name, "reset", "on", ">secret", "~*", "&*", "+@all", "-restore").Err(); err != nil {
		t.Fatalf("ACL SETUSER: got error %v, want nil", err)
	}
	t.Cleanup(func() { _ = c.Do(t.Context(), "ACL", "DELUSER", name).Err() })
	opt := *plain.Options()
	opt.Username, opt.Password = name, "secret"
	user := redis.NewClient(&opt)
	t.Cleanup(func() { _ = user.Close() })
	return user
}

// TestCreateRestoreValues checks that RESTORE writes the very hash the
// create script writes, for values at the edges of the payload's encoding:
// empty, 64 KiB, binary with NUL, 256 of them, keys starting with '@' or
// '!', a key named like '@created'; and that a ttl under a millisecond
// still creates a session.
func TestCreateRestoreValues(t *testing.T) {
	many := map[string][]byte{}
	for i := range 256 {
		many[strconv.Itoa(i)] = []byte(strconv.Itoa(i * i))
	}
	cases := map[string]map[string][]byte{
		"no values":          {},
		"an empty value":     {"e": {}},
		"a 64 KiB value":     {"big": bytes.Repeat([]byte("x"), 64<<10)},
		"binary with NUL":    {"bin\x00key": []byte("\x00\xff\x00\x01"), "\xff": []byte("\x00")},
		"256 values":         many,
		"metadata keys":      {"@created": []byte("mine"), "@user": []byte("ann"), "!x": []byte("bang"), "!@y": []byte("z")},
		"a 64-character key": {strings.Repeat("k", 64): []byte("v")},
	}
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	s := New(c, Config{Prefix: prefix, Now: func() time.Time { return time.UnixMilli(1234) }})
	script := New(c, Config{Prefix: prefix + "-script", Now: func() time.Time { return time.UnixMilli(1234) }})
	script.restore.Store(int32(restoreRefused))
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			for _, st := range []*Store{s, script} {
				if err := st.Create(t.Context(), "id"+name, vals, time.Hour, 0); err != nil {
					t.Fatalf("Create: got error %v, want nil", err)
				}
				wantCreated(t, st, "id"+name, vals, time.Hour)
			}
			if got := restoreState(s.restore.Load()); got != restoreWorks {
				t.Fatalf("restore state %d, want %d", got, restoreWorks)
			}
			restored, err := c.HGetAll(t.Context(), s.key("id"+name)).Result()
			if err != nil {
				t.Fatalf("HGETALL: %v", err)
			}
			scripted, err := c.HGetAll(t.Context(), script.key("id"+name)).Result()
			if err != nil {
				t.Fatalf("HGETALL: %v", err)
			}
			if !maps.Equal(restored, scripted) {
				t.Errorf("RESTORE wrote %d fields, the script %d: they differ", len(restored), len(scripted))
			}
		})
	}
	t.Run("a ttl under a millisecond", func(t *testing.T) {
		if err := s.Create(t.Context(), "short", map[string][]byte{"a": []byte("b")}, time.Nanosecond, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		pttl, err := c.PTTL(t.Context(), s.key("short")).Result()
		if err != nil && pttl != -2*time.Nanosecond {
			t.Fatalf("PTTL: %v", err)
		}
		// One millisecond, rounded up: the key exists or has just expired,
		// but never lives without a time to live.
		if pttl == -1 || pttl > time.Millisecond {
			t.Errorf("PTTL: got %v, want at most 1ms (or gone)", pttl)
		}
	})
}

// TestCreateRestoreHugeTTL checks that a ttl near the largest Duration
// creates a live session on either path, and leaves RESTORE in use.
func TestCreateRestoreHugeTTL(t *testing.T) {
	c := redistest.Client(t)
	for _, ttl := range []time.Duration{100 * 365 * 24 * time.Hour, math.MaxInt64 - time.Millisecond + 2, math.MaxInt64} {
		for _, state := range []restoreState{restoreUntried, restoreRefused} {
			t.Run(fmt.Sprintf("%v state %d", ttl, state), func(t *testing.T) {
				s := New(c, Config{Prefix: redistest.Prefix(t)})
				s.restore.Store(int32(state))
				if err := s.Create(t.Context(), "id", map[string][]byte{"a": []byte("b")}, ttl, 0); err != nil {
					t.Fatalf("Create: got error %v, want nil", err)
				}
				if _, found, err := s.Load(t.Context(), "id", 0); err != nil || !found {
					t.Fatalf("Load: got found %v, error %v, want true, nil", found, err)
				}
				if pttl, err := c.PTTL(t.Context(), s.key("id")).Result(); err != nil || pttl < 50*365*24*time.Hour {
					t.Errorf("PTTL: got %v, %v, want at least 50 years", pttl, err)
				}
				want := state
				if state == restoreUntried {
					want = restoreWorks
				}
				if got := restoreState(s.restore.Load()); got != want {
					t.Errorf("restore state %d, want %d", got, want)
				}
			})
		}
	}
}

// TestCreateRestoreTransientError checks that an error reply that says
// nothing of RESTORE itself, such as OOM while the server is over
// maxmemory, fails that Create and leaves RESTORE in use for the next,
// whether it comes from the probe or from a later Create.
func TestCreateRestoreTransientError(t *testing.T) {
	addr, _, _ := redistest.PausableServer(t) // a private server, never paused: CONFIG SET is safe
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	oom := func(on bool) {
		t.Helper()
		limit := "0"
		if on {
			limit = "1"
		}
		if err := c.ConfigSet(t.Context(), "maxmemory", limit).Err(); err != nil {
			t.Fatalf("CONFIG SET maxmemory %s: %v", limit, err)
		}
	}
	vals := map[string][]byte{"a": []byte("b")}
	for _, probed := range []bool{false, true} {
		t.Run(fmt.Sprintf("probed %v", probed), func(t *testing.T) {
			s := New(c, Config{Prefix: redistest.Prefix(t)})
			if probed {
				if err := s.Create(t.Context(), "first", vals, time.Hour, 0); err != nil || restoreState(s.restore.Load()) != restoreWorks {
					t.Fatalf("Create: got error %v, state %d, want nil, %d", err, s.restore.Load(), restoreWorks)
				}
			}
			oom(true)
			err := s.Create(t.Context(), "id", vals, time.Hour, 0)
			oom(false)
			if err == nil {
				t.Fatalf("Create over maxmemory: got nil error, want OOM")
			}
			if err := s.Create(t.Context(), "id", vals, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			if got := restoreState(s.restore.Load()); got != restoreWorks {
				t.Errorf("after an OOM: restore state %d, want %d (RESTORE given up for good)", got, restoreWorks)
			}
			wantCreated(t, s, "id", vals, time.Hour)
		})
	}
}

// TestCreateRestoreRace checks that Creates of one ID at once, all with
// RESTORE, leave exactly one winner, whose values the session holds.
func TestCreateRestoreRace(t *testing.T) {
	c := redistest.Client(t)
	s := New(c, Config{Prefix: redistest.Prefix(t)})
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Create(t.Context(), "id", map[string][]byte{"who": []byte(strconv.Itoa(i))}, time.Hour, 0)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Creates %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Errorf("Create %d: got error %v, want nil or %v", i, err, store.ErrExists)
		}
	}
	if winner < 0 {
		t.Fatalf("no Create won")
	}
	if got := restoreState(s.restore.Load()); got != restoreWorks {
		t.Errorf("restore state %d, want %d", got, restoreWorks)
	}
	wantCreated(t, s, "id", map[string][]byte{"who": []byte(strconv.Itoa(winner))}, time.Hour)
}

// TestCreateRestoreProbe checks the probe: a probe that does not reach the
// server, its context canceled or past its deadline, leaves RESTORE
// untried, for the next Create to probe; and no probe key is left behind,
// on a single server or a Cluster, whichever node holds it.
func TestCreateRestoreProbe(t *testing.T) {
	t.Run("canceled", func(t *testing.T) {
		s := New(redistest.Client(t), Config{Prefix: redistest.Prefix(t)})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if s.restores(ctx) {
			t.Errorf("restores with a canceled context: got true, want false")
		}
		if got := restoreState(s.restore.Load()); got != restoreUntried {
			t.Errorf("restore state %d, want %d", got, restoreUntried)
		}
	})
	t.Run("deadline passed while the server stalls", func(t *testing.T) {
		addr, pause, resume := redistest.PausableServer(t)
		c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer c.Close()
		s := New(c, Config{Prefix: redistest.Prefix(t)})
		if err := c.Ping(t.Context()).Err(); err != nil {
			t.Fatalf("PING: %v", err)
		}
		pause()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		err := s.Create(ctx, "id", nil, time.Hour, 0)
		cancel()
		resume()
		if err == nil {
			t.Fatalf("Create on a stalled server: got nil error, want the deadline's")
		}
		if got := restoreState(s.restore.Load()); got != restoreUntried {
			t.Errorf("after a probe past its deadline: restore state %d, want %d", got, restoreUntried)
		}
		if err := s.Create(t.Context(), "id2", nil, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got := restoreState(s.restore.Load()); got != restoreWorks {
			t.Errorf("restore state %d, want %d", got, restoreWorks)
		}
	})
	probeKeys := func(t *testing.T, c redis.Cmdable, prefix string) []string {
		t.Helper()
		keys, err := c.Keys(t.Context(), prefix+"*@restore-probe*").Result()
		if err != nil {
			t.Fatalf("KEYS: %v", err)
		}
		return keys
	}
	t.Run("single server", func(t *testing.T) {
		c := redistest.Client(t)
		prefix := redistest.Prefix(t)
		s := New(c, Config{Prefix: prefix})
		if err := s.Create(t.Context(), "id", nil, time.Hour, 0); err != nil || restoreState(s.restore.Load()) != restoreWorks {
			t.Fatalf("Create: got error %v, state %d, want nil, %d", err, s.restore.Load(), restoreWorks)
		}
		if keys := probeKeys(t, c, prefix); len(keys) != 0 {
			t.Errorf("probe keys left: %v", keys)
		}
	})
	t.Run("Cluster", func(t *testing.T) {
		c := redistest.ClusterClient(t)
		prefix := redistest.Prefix(t)
		for i := range 8 { // eight Stores, eight probe keys on whichever nodes
			s := New(c, Config{Prefix: prefix})
			id := newID()
			if err := s.Create(t.Context(), id, map[string][]byte{"i": []byte(strconv.Itoa(i))}, time.Hour, 0); err != nil || restoreState(s.restore.Load()) != restoreWorks {
				t.Fatalf("Create: got error %v, state %d, want nil, %d", err, s.restore.Load(), restoreWorks)
			}
			wantCreated(t, s, id, map[string][]byte{"i": []byte(strconv.Itoa(i))}, time.Hour)
		}
		err := c.ForEachMaster(t.Context(), func(ctx context.Context, master *redis.Client) error {
			if keys := probeKeys(t, master, prefix); len(keys) != 0 {
				t.Errorf("probe keys left on %s: %v", master.Options().Addr, keys)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ForEachMaster: %v", err)
		}
	})
}
