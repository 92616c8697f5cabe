package redisstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
)

// These tests pin down what each method costs: round trips, the commands the
// client sends, and (on miniredis, which lets a hook see the commands a script
// runs) the commands the server executes.

// counted returns a Store on c with a Counter attached to c.
func counted(t *testing.T, c redis.UniversalClient, prefix string) (*Store, *redistest.Counter) {
	t.Helper()
	counter := &redistest.Counter{}
	if err := counter.Attach(t.Context(), c); err != nil {
		t.Fatalf("Attach: got error %v, want nil", err)
	}
	return New(c, Config{Prefix: prefix}), counter
}

// wantSent fails the test unless the counter saw exactly roundTrips round
// trips carrying commands, then resets it.
func wantSent(t *testing.T, counter *redistest.Counter, roundTrips int64, commands ...string) {
	t.Helper()
	if got := counter.RoundTrips(); got != roundTrips {
		t.Errorf("round trips: got %v, want %v", got, roundTrips)
	}
	if got := counter.Commands(); !slices.Equal(got, commands) {
		t.Errorf("commands: got %v, want %v", got, commands)
	}
	counter.Reset()
}

// servers are the Redis servers the round-trip and arithmetic tests run
// on: each open returns a client and the key prefix to use.
var servers = []struct {
	name string
	open func(t *testing.T) (redis.UniversalClient, string)
}{
	{"on miniredis", func(t *testing.T) (redis.UniversalClient, string) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return c, "session"
	}},
	{"on a real Redis", func(t *testing.T) (redis.UniversalClient, string) {
		return redistest.Client(t), redistest.Prefix(t)
	}},
}

func TestRoundTrips(t *testing.T) {
	for _, b := range servers {
		t.Run(b.name, func(t *testing.T) {
			c, prefix := b.open(t)
			testRoundTrips(t, c, prefix)
		})
		t.Run(b.name+" with the index", func(t *testing.T) {
			c, prefix := b.open(t)
			testIndexedRoundTrips(t, c, prefix)
		})
	}
}

// testRoundTrips checks what each method of a Store on c costs.
func testRoundTrips(t *testing.T, c redis.UniversalClient, prefix string) {
	s, counter := counted(t, c, prefix)
	ctx := t.Context()
	vals := map[string][]byte{"a": []byte("1"), "b": []byte("2")}

	// The Store's first Create probes RESTORE (see restore.go) in one
	// pipeline, then creates with RESTORE, or, on a server that does not
	// restore a hash (miniredis), with the create script.
	createCmd := "restore"
	t.Run("the first create probes RESTORE in one pipeline, then creates", func(t *testing.T) {
		cached, err := s.create.Exists(ctx, serverOf(t, c, s.key("warm"))).Result()
		if err != nil {
			t.Fatalf("SCRIPT EXISTS: got error %v, want nil", err)
		}
		counter.Reset()
		if err := s.Create(ctx, "warm", vals, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		probe := []string{"restore", "type", "hget", "del"}
		switch state := restoreState(s.restore.Load()); {
		case state == restoreWorks:
			wantSent(t, counter, 2, append(probe, "restore")...)
		case state == restoreRefused && cached[0]:
			createCmd = "evalsha"
			wantSent(t, counter, 2, append(probe, "evalsha")...)
		case state == restoreRefused:
			createCmd = "evalsha"
			wantSent(t, counter, 3, append(probe, "evalsha", "eval")...)
		default:
			t.Fatalf("after the first Create, RESTORE is still untried")
		}
	})

	// Script.Run sends EVALSHA, and EVAL when the server answers NOSCRIPT:
	// once per script on a server that has not seen it (scripts are cached
	// server-wide, so a shared server may have seen it already), then EVALSHA
	// alone from then on. On a Cluster each master has a cache of its own.
	scripts := []struct {
		name   string
		script *redis.Script
		run    func() error
	}{
		{"update", s.update, func() error { _, err := s.Update(ctx, "warm", store.Delta{}, time.Hour, 0); return err }},
		{"apply", s.apply, func() error {
			_, _, err := s.Apply(ctx, "warm", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
			return err
		}},
		{"move", s.move, func() error { _, err := s.Move(ctx, "warm", "warmed", store.Delta{}, time.Hour, 0); return err }},
	}
	if createCmd == "evalsha" {
		// The create script runs where the server does not restore: it is
		// the one the first Create above loaded.
		scripts = append(scripts, struct {
			name   string
			script *redis.Script
			run    func() error
		}{"create", s.create, func() error { return s.Create(ctx, "warm-again", vals, time.Hour, 0) }})
	}
	for _, sc := range scripts {
		t.Run("the first "+sc.name+" on a server without the script falls back from EVALSHA to EVAL", func(t *testing.T) {
			cached, err := sc.script.Exists(ctx, serverOf(t, c, s.key("warm"))).Result()
			if err != nil {
				t.Fatalf("SCRIPT EXISTS: got error %v, want nil", err)
			}
			counter.Reset()
			if err := sc.run(); err != nil {
				t.Fatalf("%s: got error %v, want nil", sc.name, err)
			}
			if cached[0] {
				wantSent(t, counter, 1, "evalsha")
			} else {
				wantSent(t, counter, 2, "evalsha", "eval")
			}
		})
	}

	// The sessions below live on any master of a Cluster: load the scripts
	// on every one (a Cluster client sends SCRIPT LOAD to every node).
	for _, sc := range scripts {
		if err := sc.script.Load(ctx, c).Err(); err != nil {
			t.Fatalf("SCRIPT LOAD %s: got error %v, want nil", sc.name, err)
		}
	}

	steady := []struct {
		name       string
		call       func() error
		roundTrips int64
		commands   []string
	}{
		{"create is one RESTORE, or one EVALSHA where the server does not restore", func() error {
			return s.Create(ctx, "id", vals, time.Hour, 0)
		}, 1, []string{createCmd}},
		{"create of an existing ID is the same one command", func() error {
			if err := s.Create(ctx, "id", vals, time.Hour, 0); err != store.ErrExists {
				t.Errorf("Create: got error %v, want %v", err, store.ErrExists)
			}
			return nil
		}, 1, []string{createCmd}},
		{"create with too many keys sends nothing", func() error {
			if err := s.Create(ctx, "other", vals, time.Hour, 1); err != store.ErrTooManyKeys {
				t.Errorf("Create: got error %v, want %v", err, store.ErrTooManyKeys)
			}
			return nil
		}, 0, nil},
		{"load without a ttl is one HGETALL", func() error {
			_, _, err := s.Load(ctx, "id", 0)
			return err
		}, 1, []string{"hgetall"}},
		{"load with a ttl is one pipeline of HGETALL and PEXPIRE", func() error {
			_, _, err := s.Load(ctx, "id", time.Hour)
			return err
		}, 1, []string{"hgetall", "pexpire"}},
		{"load of a missing session with a ttl is the same one pipeline", func() error {
			_, found, err := s.Load(ctx, "missing", time.Hour)
			if found {
				t.Errorf("Load: got found=true, want false")
			}
			return err
		}, 1, []string{"hgetall", "pexpire"}},
		{"update is one EVALSHA", func() error {
			_, err := s.Update(ctx, "id", store.Delta{Set: vals}, time.Hour, 0)
			return err
		}, 1, []string{"evalsha"}},
		{"update with MaxKeys is one EVALSHA", func() error {
			_, err := s.Update(ctx, "id", store.Delta{Clear: true, Del: []string{"a"}, Set: vals}, time.Hour, 5)
			return err
		}, 1, []string{"evalsha"}},
		{"update of a missing session is one EVALSHA", func() error {
			_, err := s.Update(ctx, "missing", store.Delta{Set: vals}, time.Hour, 0)
			return err
		}, 1, []string{"evalsha"}},
		{"apply without Add or Take is one EVALSHA, as update", func() error {
			_, _, err := s.Apply(ctx, "id", store.Delta{Set: vals}, time.Hour, 0)
			return err
		}, 1, []string{"evalsha"}},
		{"apply with Add and Take is one EVALSHA", func() error {
			got, found, err := s.Apply(ctx, "id", store.Delta{Set: vals, Add: map[string]int64{"n": 1}, Take: []string{"b"}}, time.Hour, 0)
			if !found || len(got) != 2 {
				t.Errorf("Apply: got %q, %v, want the sum and the value taken", got, found)
			}
			return err
		}, 1, []string{"evalsha"}},
		{"apply with Add, Take and MaxKeys is one EVALSHA", func() error {
			_, _, err := s.Apply(ctx, "id", store.Delta{Clear: true, Del: []string{"a"}, Set: vals, Add: map[string]int64{"n": 1}, Take: []string{"b"}}, time.Hour, 5)
			return err
		}, 1, []string{"evalsha"}},
		{"apply that meets a value that is not an integer is one EVALSHA", func() error {
			if _, _, err := s.Apply(ctx, "id", store.Delta{Add: map[string]int64{"a": 1}, Set: map[string][]byte{"a": []byte("x")}}, time.Hour, 0); !errors.Is(err, store.ErrNotInteger) {
				t.Errorf("Apply: got error %v, want %v", err, store.ErrNotInteger)
			}
			return nil
		}, 1, []string{"evalsha"}},
		{"apply of a missing session is one EVALSHA", func() error {
			_, found, err := s.Apply(ctx, "missing", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
			if found {
				t.Errorf("Apply: got found=true, want false")
			}
			return err
		}, 1, []string{"evalsha"}},
		{"apply with a ttl of zero is one DEL", func() error {
			if err := s.Create(ctx, "ending", nil, time.Hour, 0); err != nil {
				return err
			}
			counter.Reset()
			_, _, err := s.Apply(ctx, "ending", store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"t"}}, 0, 0)
			return err
		}, 1, []string{"del"}},
		{"move is one EVALSHA", func() error {
			if err := s.Create(ctx, "moving", vals, time.Hour, 0); err != nil {
				return err
			}
			counter.Reset()
			found, err := s.Move(ctx, "moving", "moved", store.Delta{Del: []string{"a"}, Set: vals}, time.Hour, 5)
			if !found {
				t.Errorf("Move: got found=false, want true")
			}
			return err
		}, 1, []string{"evalsha"}},
		{"move of a missing session is one EVALSHA", func() error {
			_, err := s.Move(ctx, "missing", "missed", store.Delta{Set: vals}, time.Hour, 0)
			return err
		}, 1, []string{"evalsha"}},
		{"move with a ttl of zero is one DEL", func() error {
			if err := s.Create(ctx, "ending", nil, time.Hour, 0); err != nil {
				return err
			}
			counter.Reset()
			_, err := s.Move(ctx, "ending", "ended", store.Delta{Set: vals}, 0, 0)
			return err
		}, 1, []string{"del"}},
		{"move to an ID with another first character sends nothing", func() error {
			if _, err := s.Move(ctx, "id", "other", store.Delta{}, time.Hour, 0); err != ErrCrossShard {
				t.Errorf("Move: got error %v, want %v", err, ErrCrossShard)
			}
			return nil
		}, 0, nil},
		{"update with a ttl of zero is one DEL", func() error {
			if err := s.Create(ctx, "ending", nil, time.Hour, 0); err != nil {
				return err
			}
			counter.Reset()
			_, err := s.Update(ctx, "ending", store.Delta{Set: vals}, 0, 0)
			return err
		}, 1, []string{"del"}},
		{"touch is one PEXPIRE", func() error {
			_, err := s.Touch(ctx, "id", time.Hour)
			return err
		}, 1, []string{"pexpire"}},
		{"delete is one DEL", func() error {
			_, err := s.Delete(ctx, "id")
			return err
		}, 1, []string{"del"}},
		{"a call with a canceled context sends nothing", func() error {
			done, cancel := context.WithCancel(ctx)
			cancel()
			_, _, _ = s.Load(done, "id", time.Hour)
			_ = s.Create(done, "id", vals, time.Hour, 0)
			_, _ = s.Update(done, "id", store.Delta{Set: vals}, time.Hour, 0)
			_, _, _ = s.Apply(done, "id", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
			_, _ = s.Move(done, "id", "in", store.Delta{Set: vals}, time.Hour, 0)
			_, _ = s.Touch(done, "id", time.Hour)
			_, _ = s.Delete(done, "id")
			return nil
		}, 0, nil},
	}
	for _, tt := range steady {
		t.Run(tt.name, func(t *testing.T) {
			counter.Reset()
			if err := tt.call(); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			wantSent(t, counter, tt.roundTrips, tt.commands...)
		})
	}
}

// serverOf returns the server that holds key: the master that serves its
// slot on a Cluster, c itself otherwise.
func serverOf(t *testing.T, c redis.UniversalClient, key string) redis.Scripter {
	t.Helper()
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return c
	}
	master, err := cc.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatalf("MasterForKey(%q): got error %v, want nil", key, err)
	}
	return master
}

// serverLog records the commands a miniredis server executes, including those
// run by scripts.
type serverLog struct {
	mu       sync.Mutex // protects commands
	commands []string
}

// hook is a miniredis pre-command hook that records cmd and lets it run.
func (l *serverLog) hook(_ *server.Peer, cmd string, _ ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commands = append(l.commands, strings.ToLower(cmd))
	return false
}

// take returns the commands recorded so far and forgets them.
func (l *serverLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.commands
	l.commands = nil
	return got
}

// TestServerCommands is a command budget, as TestRoundTrips is a round-trip
// budget: the commands each script runs inside Redis are what commandstats
// counts and what BENCHMARKS.md compares with scs and gorilla, so a change
// to them must be made here on purpose. The cases where nothing may be
// written (a missing session, a refused MaxKeys) show it by ending before
// any HSET, HDEL, PEXPIRE or DEL.
func TestServerCommands(t *testing.T) {
	m := miniredis.RunT(t)
	log := &serverLog{}
	m.Server().SetPreHook(log.hook)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	defer c.Close()
	s := New(c, Config{})
	ctx := t.Context()

	// Open a connection in each of go-redis's pools, and load the four
	// scripts into the server's cache.
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Ping(ctx).Err() }); err != nil {
		t.Fatalf("pipelined PING: got error %v, want nil", err)
	}
	if err := s.Create(ctx, "warm", nil, time.Hour, 0); err != nil {
		t.Fatalf("Create: got error %v, want nil", err)
	}
	if _, err := s.Update(ctx, "warm", store.Delta{}, time.Hour, 0); err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	if _, _, err := s.Apply(ctx, "warm", store.Delta{Take: []string{"t"}}, time.Hour, 0); err != nil {
		t.Fatalf("Apply: got error %v, want nil", err)
	}
	if _, err := s.Move(ctx, "warm", "warmed", store.Delta{}, time.Hour, 0); err != nil {
		t.Fatalf("Move: got error %v, want nil", err)
	}

	abc := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}
	tests := []struct {
		name string
		call func(id string) error
		want []string
	}{
		{"create checks EXISTS, then writes values and @created with one HSET and sets the ttl", func(id string) error {
			return s.Create(ctx, id+"-new", abc, time.Hour, 0)
		}, []string{"evalsha", "exists", "hset", "pexpire"}},
		{"create of an existing ID stops after EXISTS", func(id string) error {
			if err := s.Create(ctx, id, nil, time.Hour, 0); err != store.ErrExists {
				t.Errorf("Create: got error %v, want %v", err, store.ErrExists)
			}
			return nil
		}, []string{"evalsha", "exists"}},
		{"update without MaxKeys guards and sets the ttl with one PEXPIRE", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire", "hset"}},
		{"update with an empty delta is PEXPIRE alone", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire"}},
		{"update of a missing session without MaxKeys stops after PEXPIRE", func(id string) error {
			_, err := s.Update(ctx, id+"-missing", store.Delta{Set: abc}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire"}},
		{"update deletes with one HDEL and sets with one HSET", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Del: []string{"a", "b"}, Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire", "hdel", "hset"}},
		{"update that clears lists fields with HKEYS and removes the values with one HDEL", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Clear: true}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire", "hkeys", "hdel"}},
		{"update with MaxKeys under the limit counts with HLEN only and sets the ttl last", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hlen", "hset", "pexpire"}},
		{"update with MaxKeys of a missing session stops after HLEN", func(id string) error {
			_, err := s.Update(ctx, id+"-missing", store.Delta{Set: abc}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hlen"}},
		{"update with MaxKeys near the limit checks the fields it names with HEXISTS", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"a": nil}}, time.Hour, 3)
			return err
		}, []string{"evalsha", "hlen", "hexists", "hset", "pexpire"}},
		{"update beyond MaxKeys writes nothing", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Del: []string{"a"}, Set: map[string][]byte{"d": nil, "e": nil}}, time.Hour, 3)
			if err != store.ErrTooManyKeys {
				t.Errorf("Update: got error %v, want %v", err, store.ErrTooManyKeys)
			}
			return nil
		}, []string{"evalsha", "hlen", "hexists", "hexists", "hexists"}},
		{"update that clears beyond MaxKeys stops after HLEN", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Clear: true, Set: map[string][]byte{"d": nil, "e": nil}}, time.Hour, 1)
			if err != store.ErrTooManyKeys {
				t.Errorf("Update: got error %v, want %v", err, store.ErrTooManyKeys)
			}
			return nil
		}, []string{"evalsha", "hlen"}},
		{"apply without Add or Take runs update's script", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "pexpire", "hset"}},
		{"apply guards with the HMGET that reads what it adds to, writes the sums with the change in one HSET and sets the ttl last", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}, Add: map[string]int64{"a": 1, "n": 1}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hset", "pexpire"}},
		{"apply that takes removes what it takes with one HDEL", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Take: []string{"a", "b", "missing"}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hdel", "pexpire"}},
		{"apply with every part of a Delta clears, deletes, writes the values and sums, then takes", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Clear: true, Del: []string{"a"}, Set: map[string][]byte{"d": nil}, Add: map[string]int64{"n": 1}, Take: []string{"d"}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hkeys", "hdel", "hdel", "hset", "hdel", "pexpire"}},
		{"apply with MaxKeys under the limit counts with HLEN only", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hmget", "hlen", "hset", "pexpire"}},
		{"apply with MaxKeys near the limit checks the fields Set names with HEXISTS, and knows what Add creates from the HMGET", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Set: map[string][]byte{"a": nil}, Add: map[string]int64{"n": 1}}, time.Hour, 4)
			return err
		}, []string{"evalsha", "hmget", "hlen", "hexists", "hset", "pexpire"}},
		{"apply whose Add goes beyond MaxKeys writes nothing", func(id string) error {
			if _, _, err := s.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1, "m": 1}}, time.Hour, 4); err != store.ErrTooManyKeys {
				t.Errorf("Apply: got error %v, want %v", err, store.ErrTooManyKeys)
			}
			return nil
		}, []string{"evalsha", "hmget", "hlen"}},
		{"apply that meets a value that is not an integer stops after HMGET", func(id string) error {
			d := store.Delta{Del: []string{"b"}, Set: map[string][]byte{"a": []byte("01")}, Add: map[string]int64{"a": 1, "c": 1}, Take: []string{"c"}}
			if _, _, err := s.Apply(ctx, id, d, time.Hour, 0); !errors.Is(err, store.ErrNotInteger) {
				t.Errorf("Apply: got error %v, want %v", err, store.ErrNotInteger)
			}
			return nil
		}, []string{"evalsha", "hmget"}},
		{"apply of a missing session stops after HMGET", func(id string) error {
			_, _, err := s.Apply(ctx, id+"-missing", store.Delta{Set: abc, Add: map[string]int64{"n": 1}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget"}},
		{"update that adds runs apply's script", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hset", "pexpire"}},
		{"move checks that the session exists and the new ID does not, renames, applies the change and sets the ttl", func(id string) error {
			found, err := s.Move(ctx, id, id+"-moved", store.Delta{Del: []string{"a"}, Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			if !found {
				t.Errorf("Move: got found=false, want true")
			}
			return err
		}, []string{"evalsha", "hlen", "exists", "rename", "hdel", "hset", "pexpire"}},
		{"move with MaxKeys under the limit counts with HLEN only", func(id string) error {
			_, err := s.Move(ctx, id, id+"-moved", store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hlen", "exists", "rename", "hset", "pexpire"}},
		{"move of a missing session stops after HLEN", func(id string) error {
			found, err := s.Move(ctx, id+"-missing", id+"-moved", store.Delta{Set: abc}, time.Hour, 0)
			if found {
				t.Errorf("Move: got found=true, want false")
			}
			return err
		}, []string{"evalsha", "hlen"}},
		{"move to an ID in use stops after EXISTS", func(id string) error {
			if err := s.Create(ctx, id+"-taken", nil, time.Hour, 0); err != nil {
				return err
			}
			log.take()
			if _, err := s.Move(ctx, id, id+"-taken", store.Delta{Set: abc}, time.Hour, 0); err != store.ErrExists {
				t.Errorf("Move: got error %v, want %v", err, store.ErrExists)
			}
			return nil
		}, []string{"evalsha", "hlen", "exists"}},
		{"move beyond MaxKeys writes nothing", func(id string) error {
			_, err := s.Move(ctx, id, id+"-moved", store.Delta{Set: map[string][]byte{"d": nil, "e": nil}}, time.Hour, 3)
			if err != store.ErrTooManyKeys {
				t.Errorf("Move: got error %v, want %v", err, store.ErrTooManyKeys)
			}
			return nil
		}, []string{"evalsha", "hlen", "exists", "hexists", "hexists"}},
		{"load without a ttl is HGETALL", func(id string) error {
			_, _, err := s.Load(ctx, id, 0)
			return err
		}, []string{"hgetall"}},
		{"load with a ttl is HGETALL and PEXPIRE", func(id string) error {
			_, _, err := s.Load(ctx, id, time.Hour)
			return err
		}, []string{"hgetall", "pexpire"}},
		{"touch is PEXPIRE", func(id string) error {
			_, err := s.Touch(ctx, id, time.Hour)
			return err
		}, []string{"pexpire"}},
		{"delete is DEL", func(id string) error {
			_, err := s.Delete(ctx, id)
			return err
		}, []string{"del"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			if err := s.Create(ctx, id, abc, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			log.take()
			if err := tt.call(id); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := log.take(); !slices.Equal(got, tt.want) {
				t.Errorf("server ran %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("a session with thousands of values is written in chunks of 500 pairs", func(t *testing.T) {
		many := make(map[string][]byte, 1200)
		for i := range 1200 {
			many[strings.Repeat("k", 1+i%7)+string(rune('0'+i/100))+string(rune('a'+i%26))+string(rune('A'+i%100/26))] = nil
		}
		if len(many) != 1200 {
			t.Fatalf("test setup: got %d distinct keys, want 1200", len(many))
		}
		log.take()
		if err := s.Create(ctx, "many", many, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		// 1200 values and @created: 2402 arguments, in chunks of 1000.
		want := []string{"evalsha", "exists", "hset", "hset", "hset", "pexpire"}
		if got := log.take(); !slices.Equal(got, want) {
			t.Errorf("server ran %v, want %v", got, want)
		}
	})
}

// testIndexedRoundTrips checks what each method of an indexed Store on c
// costs (Config.Index). Every request-path method that reads, writes or
// touches an existing session is one round trip, as without the index;
// logins and ends cost what their documentation says. On a Cluster a
// pipeline costs one round trip per master it reaches (nodesOf), and its
// commands arrive in no set order, so they are compared sorted there.
func testIndexedRoundTrips(t *testing.T, c redis.UniversalClient, prefix string) {
	counter := &redistest.Counter{}
	if err := counter.Attach(t.Context(), c); err != nil {
		t.Fatalf("Attach: got error %v, want nil", err)
	}
	clock := fakeclock.New()
	s := New(c, Config{Prefix: prefix, Index: true, Now: clock.Now})
	ctx := t.Context()
	_, cluster := c.(*redis.ClusterClient)
	// Loaded on every master: the counts below are of EVALSHA alone.
	for _, sc := range []*redis.Script{s.ix.create, s.ix.update, s.ix.apply, s.ix.move, s.ix.touch, s.ix.end,
		s.ix.claim, s.ix.reap, s.ix.list, s.ix.reserve, s.ix.reconcile} {
		if err := sc.Load(ctx, c).Err(); err != nil {
			t.Fatalf("SCRIPT LOAD: got error %v, want nil", err)
		}
	}
	// nodes returns the number of round trips of one pipeline on keys.
	nodes := func(keys ...string) int64 {
		if !cluster {
			return 1
		}
		masters := map[string]bool{}
		for _, k := range keys {
			masters[masterAddr(t, c.(*redis.ClusterClient), k)] = true
		}
		return int64(len(masters))
	}
	want := func(t *testing.T, roundTrips int64, commands ...string) {
		t.Helper()
		if got := counter.RoundTrips(); got != roundTrips {
			t.Errorf("round trips: got %v, want %v", got, roundTrips)
		}
		got := counter.Commands()
		if cluster {
			slices.Sort(got)
			commands = slices.Clone(commands)
			slices.Sort(commands)
		}
		if !slices.Equal(got, commands) {
			t.Errorf("commands: got %v, want %v", got, commands)
		}
	}
	vals := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	user := map[string][]byte{store.UserKey: []byte("ann")}
	id := func(name string) string { return "A" + name } // all in shard A
	create := func(t *testing.T, id string, values map[string][]byte) {
		t.Helper()
		if err := s.Create(ctx, id, values, time.Hour, 0); err != nil {
			t.Fatalf("Create(%s): got error %v, want nil", id, err)
		}
	}
	live, ann := s.liveKey(), s.userKey("ann")

	tests := []struct {
		name string
		// call runs the method; setup before it is not counted.
		setup func(t *testing.T)
		call  func(t *testing.T)
		// roundTrips and commands that call sends.
		roundTrips func() int64
		commands   []string
	}{
		{"create is one EVALSHA", nil, func(t *testing.T) {
			create(t, id("id"), vals)
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"create with a user writes the user's set first: ZADD, then EVALSHA", nil, func(t *testing.T) {
			create(t, id("login"), user)
		}, func() int64 { return 2 }, []string{"zadd", "evalsha"}},
		{"create of an existing ID is one EVALSHA", nil, func(t *testing.T) {
			if err := s.Create(ctx, id("id"), vals, time.Hour, 0); err != store.ErrExists {
				t.Errorf("Create: got error %v, want %v", err, store.ErrExists)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"load without a ttl is one HGETALL", nil, func(t *testing.T) {
			if _, found, err := s.Load(ctx, id("id"), 0); err != nil || !found {
				t.Errorf("Load: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"hgetall"}},
		{"load with a ttl is one pipeline of HGETALL and EVALSHA", nil, func(t *testing.T) {
			if _, found, err := s.Load(ctx, id("id"), time.Hour); err != nil || !found {
				t.Errorf("Load: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"hgetall", "evalsha"}},
		{"load of a missing session with a ttl is the same one pipeline", nil, func(t *testing.T) {
			if _, found, err := s.Load(ctx, id("missing"), time.Hour); err != nil || found {
				t.Errorf("Load: got %v, %v, want false, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"hgetall", "evalsha"}},
		{"update is one EVALSHA", nil, func(t *testing.T) {
			if _, err := s.Update(ctx, id("id"), store.Delta{Set: vals}, time.Hour, 5); err != nil {
				t.Error(err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"update of a missing session is one EVALSHA", nil, func(t *testing.T) {
			if _, err := s.Update(ctx, id("missing"), store.Delta{Set: vals}, time.Hour, 0); err != nil {
				t.Error(err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"update that sets the session's user again is ZADD, then EVALSHA", nil, func(t *testing.T) {
			if _, err := s.Update(ctx, id("login"), store.Delta{Set: user}, time.Hour, 0); err != nil {
				t.Error(err)
			}
		}, func() int64 { return 2 }, []string{"zadd", "evalsha"}},
		{"update to another user is ZADD, EVALSHA, then ZREM from the old user's set", nil, func(t *testing.T) {
			if _, err := s.Update(ctx, id("login"), store.Delta{Set: map[string][]byte{store.UserKey: []byte("bob")}}, time.Hour, 0); err != nil {
				t.Error(err)
			}
		}, func() int64 { return 3 }, []string{"zadd", "evalsha", "zrem"}},
		{"apply without Add or Take is one EVALSHA, as update", nil, func(t *testing.T) {
			if _, found, err := s.Apply(ctx, id("id"), store.Delta{Set: vals}, time.Hour, 5); err != nil || !found {
				t.Errorf("Apply: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"apply with Add and Take is one EVALSHA", nil, func(t *testing.T) {
			d := store.Delta{Set: vals, Add: map[string]int64{"n": 1}, Take: []string{"b"}}
			if got, found, err := s.Apply(ctx, id("id"), d, time.Hour, 5); err != nil || !found || len(got) != 2 {
				t.Errorf("Apply: got %q, %v, %v, want the sum and the value taken", got, found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"apply of a missing session is one EVALSHA", nil, func(t *testing.T) {
			if _, found, err := s.Apply(ctx, id("missing"), store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0); err != nil || found {
				t.Errorf("Apply: got %v, %v, want false, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"apply that adds and sets the session's user again is ZADD, then EVALSHA, as update", nil, func(t *testing.T) {
			d := store.Delta{Set: map[string][]byte{store.UserKey: []byte("bob")}, Add: map[string]int64{"n": 1}}
			if _, found, err := s.Apply(ctx, id("login"), d, time.Hour, 0); err != nil || !found {
				t.Errorf("Apply: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 }, []string{"zadd", "evalsha"}},
		{"apply with a ttl of zero is a delete: EVALSHA, then ZREM from @live", func(t *testing.T) {
			create(t, id("applied-away"), vals)
		}, func(t *testing.T) {
			if _, found, err := s.Apply(ctx, id("applied-away"), store.Delta{Add: map[string]int64{"n": 1}}, 0, 0); err != nil || !found {
				t.Errorf("Apply: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 }, []string{"evalsha", "zrem"}},
		{"touch is one EVALSHA", nil, func(t *testing.T) {
			if found, err := s.Touch(ctx, id("id"), time.Hour); err != nil || !found {
				t.Errorf("Touch: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"move of an anonymous session is EVALSHA, then ZREM from @live", func(t *testing.T) {
			create(t, id("anon"), vals)
		}, func(t *testing.T) {
			if found, err := s.Move(ctx, id("anon"), id("anon2"), store.Delta{Set: vals}, time.Hour, 0); err != nil || !found {
				t.Errorf("Move: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 }, []string{"evalsha", "zrem"}},
		{"move at login is ZADD, EVALSHA, then ZREM from @live", func(t *testing.T) {
			create(t, id("guest"), vals)
		}, func(t *testing.T) {
			if found, err := s.Move(ctx, id("guest"), id("guest2"), store.Delta{Set: user}, time.Hour, 0); err != nil || !found {
				t.Errorf("Move: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 3 }, []string{"zadd", "evalsha", "zrem"}},
		{"move at a login again is ZADD, EVALSHA, then ZREM from @live and the user's set, pipelined", nil, func(t *testing.T) {
			if found, err := s.Move(ctx, id("guest2"), id("guest3"), store.Delta{Set: user}, time.Hour, 0); err != nil || !found {
				t.Errorf("Move: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 + nodes(live, ann) }, []string{"zadd", "evalsha", "zrem", "zrem"}},
		{"move of a logged-in session that keeps its user: EVALSHA names the user, ZADD, EVALSHA, then the ZREMs", nil, func(t *testing.T) {
			if found, err := s.Move(ctx, id("guest3"), id("guest4"), store.Delta{Set: vals}, time.Hour, 0); err != nil || !found {
				t.Errorf("Move: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 3 + nodes(live, ann) }, []string{"evalsha", "zadd", "evalsha", "zrem", "zrem"}},
		{"move of a missing session is one EVALSHA", nil, func(t *testing.T) {
			if found, err := s.Move(ctx, id("missing"), id("missed"), store.Delta{}, time.Hour, 0); err != nil || found {
				t.Errorf("Move: got %v, %v, want false, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"delete is EVALSHA, then ZREM from @live", nil, func(t *testing.T) {
			if found, err := s.Delete(ctx, id("anon2")); err != nil || !found {
				t.Errorf("Delete: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 }, []string{"evalsha", "zrem"}},
		{"delete of a logged-in session is EVALSHA, then ZREM from @live and the user's set, pipelined", nil, func(t *testing.T) {
			if found, err := s.Delete(ctx, id("guest4")); err != nil || !found {
				t.Errorf("Delete: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 + nodes(live, ann) }, []string{"evalsha", "zrem", "zrem"}},
		{"delete of a missing session is one EVALSHA", nil, func(t *testing.T) {
			if found, err := s.Delete(ctx, id("missing")); err != nil || found {
				t.Errorf("Delete: got %v, %v, want false, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"update with a ttl of zero is a delete", nil, func(t *testing.T) {
			if found, err := s.Update(ctx, id("guest2"), store.Delta{Set: vals}, 0, 0); err != nil || found {
				t.Errorf("Update: got %v, %v, want false (moved away), nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"reserve is one EVALSHA", nil, func(t *testing.T) {
			if ok, err := s.Reserve(ctx, id("reserved"), 100); err != nil || !ok {
				t.Errorf("Reserve: got %v, %v, want true, nil", ok, err)
			}
		}, func() int64 { return 1 }, []string{"evalsha"}},
		{"reserve refused at the limit, nothing due for a check, is EVALSHA, then ZRANGEBYSCORE", nil, func(t *testing.T) {
			if ok, err := s.Reserve(ctx, id("refused"), 1); err != nil || ok {
				t.Errorf("Reserve: got %v, %v, want false, nil", ok, err)
			}
		}, func() int64 { return 2 }, []string{"evalsha", "zrangebyscore"}},
		{"peek is one HGETALL", nil, func(t *testing.T) {
			if _, found, err := s.Peek(ctx, id("id")); err != nil || !found {
				t.Errorf("Peek: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 1 }, []string{"hgetall"}},
		{"remove is EVALSHA, then ZREM from @live", func(t *testing.T) {
			create(t, id("removed"), nil)
		}, func(t *testing.T) {
			if _, found, err := s.Remove(ctx, id("removed")); err != nil || !found {
				t.Errorf("Remove: got %v, %v, want true, nil", found, err)
			}
		}, func() int64 { return 2 }, []string{"evalsha", "zrem"}},
		{"user sessions is ZRANGE, then HMGET each session, pipelined", func(t *testing.T) {
			create(t, id("ann1"), user)
			create(t, "B"+id("ann2"), user)
		}, func(t *testing.T) {
			if infos, err := s.UserSessions(ctx, "ann"); err != nil || len(infos) != 2 {
				t.Errorf("UserSessions: got %v, %v, want 2 sessions", infos, err)
			}
		}, func() int64 { return 1 + nodes(s.key(id("ann1")), s.key("B"+id("ann2"))) }, []string{"zrange", "hmget", "hmget"}},
		{"publish is one PUBLISH", nil, func(t *testing.T) {
			if err := s.Publish(ctx, store.Event{Kind: store.Destroyed, ID: id("id")}); err != nil {
				t.Error(err)
			}
		}, func() int64 { return 1 }, []string{"publish"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			counter.Reset()
			tt.call(t)
			want(t, tt.roundTrips(), tt.commands...)
		})
	}

	// The admin calls read every shard: one pipeline, so one round trip
	// per master.
	var shardKeys []string
	for i := range shardAlphabet {
		shardKeys = append(shardKeys, s.shardKey(shardAlphabet[i:i+1], "@expiries"))
	}
	t.Run("count is one ZCOUNT per shard, pipelined", func(t *testing.T) {
		counter.Reset()
		if _, err := s.Count(ctx); err != nil {
			t.Fatalf("Count: got error %v, want nil", err)
		}
		want(t, nodes(shardKeys...), slices.Repeat([]string{"zcount"}, 64)...)
	})
	t.Run("claim expired with nothing due counts the due entries of every shard, pipelined, and claims nothing", func(t *testing.T) {
		counter.Reset()
		if recs, err := s.ClaimExpired(ctx, 100, time.Minute); err != nil || len(recs) != 0 {
			t.Fatalf("ClaimExpired: got %v, %v, want none", recs, err)
		}
		want(t, nodes(append(shardKeys, live)...), append(slices.Repeat([]string{"zcount"}, 128), "zrangebyscore")...)
	})
	t.Run("claim expired, then reap, each claim and reap script pipelined", func(t *testing.T) {
		clock.Advance(2 * time.Hour)
		counter.Reset()
		recs, err := s.ClaimExpired(ctx, 100, time.Minute)
		if err != nil || len(recs) == 0 {
			t.Fatalf("ClaimExpired: got %v, %v, want the sessions above", recs, err)
		}
		// Shards A and B hold expired sessions; @live holds the
		// reservation, which is checked.
		claimNodes := nodes(s.shardKey("A", "@expiries"), s.shardKey("B", "@expiries"))
		wantCmds := append(slices.Repeat([]string{"zcount"}, 128), "zrangebyscore", "evalsha", "evalsha", "hmget", "evalsha")
		want(t, nodes(append(shardKeys, live)...)+claimNodes+nodes(s.key(id("reserved")))+1, wantCmds...)

		counter.Reset()
		if err := s.Reap(ctx, recordIDs(recs)...); err != nil {
			t.Fatalf("Reap: got error %v, want nil", err)
		}
		got := counter.Commands()
		if counter.RoundTrips() < claimNodes+1 || slices.Index(got, "zrem") < slices.Index(got, "evalsha") {
			t.Errorf("Reap: got %d round trips %v, want the scripts (%d) then the ZREMs", counter.RoundTrips(), got, claimNodes)
		}
	})
	t.Run("a call with a canceled context sends nothing", func(t *testing.T) {
		done, cancel := context.WithCancel(ctx)
		cancel()
		counter.Reset()
		_, _, _ = s.Load(done, "Aid", time.Hour)
		_ = s.Create(done, "Aid", vals, time.Hour, 0)
		_, _ = s.Update(done, "Aid", store.Delta{Set: vals}, time.Hour, 0)
		_, _, _ = s.Apply(done, "Aid", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
		_, _ = s.Move(done, "Aid", "Ain", store.Delta{Set: vals}, time.Hour, 0)
		_, _ = s.Touch(done, "Aid", time.Hour)
		_, _ = s.Delete(done, "Aid")
		_, _ = s.Count(done)
		_, _, _ = s.List(done, "", 10)
		_, _, _ = s.Peek(done, "Aid")
		_, _, _ = s.Remove(done, "Aid")
		_, _ = s.UserSessions(done, "ann")
		_, _ = s.ClaimExpired(done, 10, time.Minute)
		_ = s.Reap(done, "Aid")
		_, _ = s.Reserve(done, "Aid", 10)
		_ = s.Publish(done, store.Event{Kind: store.Destroyed, ID: "Aid"})
		want(t, 0)
	})
}

// TestServerCommandsIndexed is TestServerCommands for the indexed mode: what
// each script runs inside Redis. Against the plain mode, a write of an
// existing session adds an HMGET (the guard: does it exist, has it expired)
// and a ZADD to the shard's @expiries, and writes @expires and @access in
// the HSET of its values; a touch (Load with a ttl, Touch) is a script of
// four commands instead of PEXPIRE; a creation adds the ZADDs to @expiries
// and @ids.
func TestServerCommandsIndexed(t *testing.T) {
	m := miniredis.RunT(t)
	log := &serverLog{}
	m.Server().SetPreHook(log.hook)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	defer c.Close()
	s := New(c, Config{Index: true, Now: fakeclock.New().Now})
	ctx := t.Context()
	for _, sc := range []*redis.Script{s.ix.create, s.ix.update, s.ix.apply, s.ix.move, s.ix.touch, s.ix.end} {
		if err := sc.Load(ctx, c).Err(); err != nil {
			t.Fatalf("SCRIPT LOAD: got error %v, want nil", err)
		}
	}
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Ping(ctx).Err() }); err != nil {
		t.Fatalf("pipelined PING: got error %v, want nil", err)
	}

	abc := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}
	tests := []struct {
		name string
		call func(id string) error
		want []string
	}{
		{"create checks EXISTS, writes values and metadata with one HSET, sets the ttl and indexes", func(id string) error {
			return s.Create(ctx, id+"-new", abc, time.Hour, 0)
		}, []string{"evalsha", "exists", "hset", "pexpire", "zadd", "zadd"}},
		{"load with a ttl is HGETALL beside the touch script", func(id string) error {
			_, _, err := s.Load(ctx, id, time.Hour)
			return err
		}, []string{"hgetall", "evalsha", "hmget", "hset", "pexpire", "zadd"}},
		{"load without a ttl is HGETALL", func(id string) error {
			_, _, err := s.Load(ctx, id, 0)
			return err
		}, []string{"hgetall"}},
		{"touch guards with HMGET, then stamps, sets the ttl and moves the expiry", func(id string) error {
			_, err := s.Touch(ctx, id, time.Hour)
			return err
		}, []string{"evalsha", "hmget", "hset", "pexpire", "zadd"}},
		{"update guards with HMGET, writes the change, then stamps", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Del: []string{"a"}, Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hdel", "hset", "pexpire", "zadd"}},
		{"update with MaxKeys under the limit counts with HLEN", func(id string) error {
			_, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hmget", "hlen", "hset", "pexpire", "zadd"}},
		{"update of a missing session stops after HMGET", func(id string) error {
			_, err := s.Update(ctx, id+"-missing", store.Delta{Set: abc}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hmget"}},
		{"apply without Add or Take runs update's script", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Del: []string{"a"}, Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hdel", "hset", "pexpire", "zadd"}},
		{"apply guards with the HMGET that reads what it adds to and takes, writes the sums with the stamps in one HSET, removes what it takes with one HDEL", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Add: map[string]int64{"a": 1, "n": 1}, Take: []string{"b"}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "hset", "hdel", "pexpire", "zadd"}},
		{"apply with MaxKeys under the limit counts with HLEN", func(id string) error {
			_, _, err := s.Apply(ctx, id, store.Delta{Set: map[string][]byte{"d": nil}, Add: map[string]int64{"n": 1}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hmget", "hlen", "hset", "pexpire", "zadd"}},
		{"apply that meets a value that is not an integer stops after HMGET", func(id string) error {
			d := store.Delta{Set: map[string][]byte{"d": []byte("x")}, Add: map[string]int64{"d": 1}, Take: []string{"a"}}
			if _, _, err := s.Apply(ctx, id, d, time.Hour, 0); !errors.Is(err, store.ErrNotInteger) {
				t.Errorf("Apply: got error %v, want %v", err, store.ErrNotInteger)
			}
			return nil
		}, []string{"evalsha", "hmget"}},
		{"apply of a missing session stops after HMGET", func(id string) error {
			_, _, err := s.Apply(ctx, id+"-missing", store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 10)
			return err
		}, []string{"evalsha", "hmget"}},
		{"move guards, renames, applies, and moves both index entries", func(id string) error {
			_, err := s.Move(ctx, id, id+"-moved", store.Delta{Set: map[string][]byte{"d": nil}}, time.Hour, 0)
			return err
		}, []string{"evalsha", "hmget", "exists", "rename", "hset", "zrem", "zrem", "pexpire", "zadd", "zadd", "zrem"}},
		{"delete reads the metadata, deletes and unindexes; then @live", func(id string) error {
			_, err := s.Delete(ctx, id)
			return err
		}, []string{"evalsha", "hmget", "del", "zrem", "zrem", "zrem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "A" + strings.ReplaceAll(tt.name, " ", "-")
			if err := s.Create(ctx, id, abc, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			log.take()
			if err := tt.call(id); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := log.take(); !slices.Equal(got, tt.want) {
				t.Errorf("server ran %v, want %v", got, tt.want)
			}
		})
	}
}
