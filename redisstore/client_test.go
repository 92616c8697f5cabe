package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// wrapper is a client of the caller's own type, whose options New cannot
// read.
type wrapper struct {
	redis.UniversalClient
}

func TestNewClient(t *testing.T) {
	// None of these clients is ever dialed.
	addrs := []string{"127.0.0.1:0"}
	clients := []struct {
		name string
		open func(contextTimeout bool) redis.UniversalClient
	}{
		{"redis.NewClient", func(on bool) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addrs[0], ContextTimeoutEnabled: on})
		}},
		{"redis.NewFailoverClient", func(on bool) redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"redis.NewClusterClient", func(on bool) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"redis.NewFailoverClusterClient", func(on bool) redis.UniversalClient {
			return redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"redis.NewUniversalClient of one address", func(on bool) redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"redis.NewUniversalClient of a Cluster", func(on bool) redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, IsClusterMode: true, ContextTimeoutEnabled: on})
		}},
		{"redis.NewRing", func(on bool) redis.UniversalClient {
			return redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addrs[0]}, ContextTimeoutEnabled: on})
		}},
	}
	// newStore returns what New panicked with, or nil.
	newStore := func(c redis.UniversalClient) (panicked any) {
		defer func() { panicked = recover() }()
		redisstore.New(c, redisstore.Config{})
		return nil
	}
	for _, tt := range clients {
		t.Run(tt.name+" with ContextTimeoutEnabled false panics at construction, saying what to set", func(t *testing.T) {
			c := tt.open(false)
			defer c.Close()
			got := fmt.Sprint(newStore(c))
			if !strings.Contains(got, "set ContextTimeoutEnabled: true in the redis.") {
				t.Errorf("New: got panic %q, want one that says to set ContextTimeoutEnabled: true in the client's options", got)
			}
		})
		t.Run(tt.name+" with ContextTimeoutEnabled true is accepted", func(t *testing.T) {
			c := tt.open(true)
			defer c.Close()
			if got := newStore(c); got != nil {
				t.Errorf("New: got panic %v, want none", got)
			}
		})
	}
	t.Run("a client New cannot inspect is accepted as it is", func(t *testing.T) {
		c := redis.NewClient(&redis.Options{Addr: addrs[0]})
		defer c.Close()
		if got := newStore(wrapper{c}); got != nil {
			t.Errorf("New(wrapper): got panic %v, want none", got)
		}
	})
}

// TestDeadline runs on a real redis-server paused with SIGSTOP, which
// accepts connections and commands but answers nothing: the way a Redis
// stalled by a slow command, a fork or swapping looks to a client. With
// ContextTimeoutEnabled false, go-redis would wait its whole ReadTimeout
// (5 s by default) in each call; that is what the check in New prevents.
func TestDeadline(t *testing.T) {
	addr, pause, resume := redistest.PausableServer(t)
	// Built as the README shows.
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	s := redisstore.New(c, redisstore.Config{})
	ctx := t.Context()

	// Sessions for the calls below, and the scripts in the server's cache;
	// "kept" is left for after the pause, which no write below touches:
	// commands sent while the server is paused still run when it resumes.
	vals := map[string][]byte{"a": []byte("1")}
	for _, id := range []string{"kept", "loaded", "updated", "moved", "touched", "deleted"} {
		if err := s.Create(ctx, id, vals, time.Hour, 0); err != nil {
			t.Fatalf("Create(%s): got error %v, want nil", id, err)
		}
	}
	if _, err := s.Update(ctx, "kept", store.Delta{}, time.Hour, 0); err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	if _, err := s.Move(ctx, "moved", "moved-warm", store.Delta{}, time.Hour, 0); err != nil {
		t.Fatalf("Move: got error %v, want nil", err)
	}

	const (
		deadline = 300 * time.Millisecond
		// Generous for a loaded machine, and far below go-redis's
		// ReadTimeout, which a call ignoring its deadline would wait.
		bound = 2 * time.Second
	)
	d := store.Delta{Set: vals}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"load", func(ctx context.Context) error { _, _, err := s.Load(ctx, "loaded", 0); return err }},
		{"load with a ttl (a pipeline)", func(ctx context.Context) error { _, _, err := s.Load(ctx, "loaded", time.Hour); return err }},
		{"create (a script)", func(ctx context.Context) error { return s.Create(ctx, "created", vals, time.Hour, 0) }},
		{"update (a script)", func(ctx context.Context) error { _, err := s.Update(ctx, "updated", d, time.Hour, 0); return err }},
		{"move (a script)", func(ctx context.Context) error {
			_, err := s.Move(ctx, "moved-warm", "moved-on", d, time.Hour, 0)
			return err
		}},
		{"touch", func(ctx context.Context) error { _, err := s.Touch(ctx, "touched", time.Hour); return err }},
		{"delete", func(ctx context.Context) error { _, err := s.Delete(ctx, "deleted"); return err }},
	}
	pause()
	for _, tt := range calls {
		t.Run(tt.name+" on a paused Redis fails at the context's deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			took := time.Since(start)
			t.Logf("returned after %v: %v", took, err)
			if err == nil {
				t.Errorf("got no error from a paused Redis, want one")
			}
			if took < deadline-10*time.Millisecond || took > bound {
				t.Errorf("returned after %v, want about %v (at most %v)", took, deadline, bound)
			}
		})
	}
	resume()

	t.Run("once the Redis resumes, calls work again", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		values, found, err := s.Load(ctx, "kept", time.Hour)
		if err != nil || !found || string(values["a"]) != "1" {
			t.Errorf("Load: got %q, %v, %v, want a=1, true, nil", values, found, err)
		}
		if _, err := s.Update(ctx, "kept", d, time.Hour, 0); err != nil {
			t.Errorf("Update: got error %v, want nil", err)
		}
	})
}

// TestDeadlineWithReadTimeoutDisabled: ContextTimeoutEnabled is not enough.
// With ReadTimeout -2 ("no deadline at all", go-redis skips
// SetReadDeadline) go-redis ignores the context's deadline too, yet New's
// check passes: a stalled Redis then holds each call forever, not until
// StoreTimeout. New should refuse such a client, as it refuses one without
// ContextTimeoutEnabled.
func TestDeadlineWithReadTimeoutDisabled(t *testing.T) {
	addr, pause, _ := redistest.PausableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: -2, WriteTimeout: -2})
	defer c.Close()
	var s *redisstore.Store
	func() {
		defer func() { _ = recover() }() // refusing the client passes
		s = redisstore.New(c, redisstore.Config{})
	}()
	if s == nil {
		return
	}
	if _, _, err := s.Load(t.Context(), "x", 0); err != nil {
		t.Fatal(err)
	}
	pause()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, _, err := s.Load(ctx, "x", 0); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("got no error from a paused Redis, want one")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("New accepted the client, and a Load on a paused Redis ignored its 300ms deadline for 2s")
	}
}

func TestNewClientWithoutDeadlines(t *testing.T) {
	// None of these clients is ever dialed.
	addr := "127.0.0.1:0"
	for _, tt := range []struct {
		name string
		open func(read, write time.Duration) redis.UniversalClient
	}{
		{"redis.NewClient", func(read, write time.Duration) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: read, WriteTimeout: write})
		}},
		{"redis.NewFailoverClient", func(read, write time.Duration) redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{addr}, ContextTimeoutEnabled: true, ReadTimeout: read, WriteTimeout: write})
		}},
		{"redis.NewClusterClient", func(read, write time.Duration) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true, ReadTimeout: read, WriteTimeout: write})
		}},
		{"redis.NewRing", func(read, write time.Duration) redis.UniversalClient {
			return redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addr}, ContextTimeoutEnabled: true, ReadTimeout: read, WriteTimeout: write})
		}},
	} {
		for _, timeouts := range [][2]time.Duration{{-2, 0}, {0, -2}} {
			t.Run(fmt.Sprintf("%s with ReadTimeout %d and WriteTimeout %d panics at construction, saying what to set", tt.name, timeouts[0], timeouts[1]), func(t *testing.T) {
				c := tt.open(timeouts[0], timeouts[1])
				defer c.Close()
				got := func() (panicked any) {
					defer func() { panicked = recover() }()
					redisstore.New(c, redisstore.Config{})
					return nil
				}()
				if !strings.Contains(fmt.Sprint(got), "leave ReadTimeout and WriteTimeout at 0") {
					t.Errorf("New: got panic %v, want one that says to leave the timeouts at 0", got)
				}
			})
		}
		for _, timeout := range []time.Duration{-1, 0, time.Second} {
			t.Run(fmt.Sprintf("%s with both timeouts %d is accepted", tt.name, timeout), func(t *testing.T) {
				c := tt.open(timeout, timeout)
				defer c.Close()
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("New: got panic %v, want none", p)
						}
					}()
					redisstore.New(c, redisstore.Config{})
				}()
			})
		}
	}
}

func TestNewRefusesReadsFromReplicas(t *testing.T) {
	for name, opt := range map[string]redis.ClusterOptions{
		"ReadOnly":       {ReadOnly: true},
		"RouteByLatency": {RouteByLatency: true},
		"RouteRandomly":  {RouteRandomly: true},
	} {
		t.Run("a Cluster client with "+name+" panics at construction, saying why", func(t *testing.T) {
			opt.Addrs, opt.ContextTimeoutEnabled = []string{"127.0.0.1:0"}, true // never dialed
			c := redis.NewClusterClient(&opt)
			defer c.Close()
			got := func() (panicked any) {
				defer func() { panicked = recover() }()
				redisstore.New(c, redisstore.Config{})
				return nil
			}()
			if !strings.Contains(fmt.Sprint(got), "reads from replicas") {
				t.Errorf("New: got panic %v, want one saying the client reads from replicas", got)
			}
		})
	}
}
