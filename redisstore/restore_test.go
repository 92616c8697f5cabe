package redisstore

import (
	"errors"
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
