package redisstore

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
)

// TestApplySums checks the int64 arithmetic of the apply scripts, done in
// Lua with doubles (small numbers as they are, larger ones split in two
// exact halves), against store.AddInt: every sum of values and increments
// chosen at the edges of the two ways, of the halves, of the doubles' exact
// range and of int64, on miniredis and on a real Redis.
func TestApplySums(t *testing.T) {
	values := []string{
		"0", "1", "-1", "7", "-7",
		"999999999", "-999999999", "1000000000", "-1000000000", "1000000001", "-1000000001",
		"1999999999", "-1999999999", "123456789012345678", "-123456789012345678",
		"999999999999999", "-999999999999999", "1000000000000000", "-1000000000000000", // the fast path's edge
		"9007199254740993", "-9007199254740993", // 2^53 + 1: no double holds it
		"9223372036000000000", "-9223372037000000000",
		strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MaxInt64-1, 10),
		strconv.FormatInt(math.MinInt64, 10), strconv.FormatInt(math.MinInt64+1, 10),
	}
	increments := []int64{
		0, 1, -1, 999999999, -999999999, 1000000000, -1000000000, 1000000001, -1000000001,
		999999999999999, -999999999999999, 1000000000000000,
		1<<53 + 1, -(1<<53 + 1), 854775807, -854775808, 145224192,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1000000000, math.MinInt64 + 1000000000,
	}
	for _, b := range servers {
		t.Run(b.name, func(t *testing.T) {
			c, prefix := b.open(t)
			s := New(c, Config{Prefix: prefix})
			ctx := t.Context()
			if err := s.Create(ctx, "sums", nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			for _, v := range values {
				for _, n := range increments {
					want, wantErr := store.AddInt([]byte(v), n)
					d := store.Delta{Set: map[string][]byte{"n": []byte(v)}, Add: map[string]int64{"n": n}}
					got, _, err := s.Apply(ctx, "sums", d, time.Hour, 0)
					if wantErr != nil {
						if !errors.Is(err, store.ErrNotInteger) {
							t.Errorf("%s + %d: got %q, %v, want error %v", v, n, got["n"], err, store.ErrNotInteger)
						}
						continue
					}
					if err != nil || string(got["n"]) != strconv.FormatInt(want, 10) {
						t.Errorf("%s + %d: got %q, %v, want %d", v, n, got["n"], err, want)
					}
				}
			}
		})
	}
}

// testApplyFromManyClients has clients (each with a connection of its own,
// from newClient) Apply an Add of 1 to one key of one session all at once,
// in both modes, and checks that no Add is lost or counted twice: the key
// ends at the number of clients and each call saw a sum of its own. Each
// call also takes one key: exactly one of them gets it.
func testApplyFromManyClients(t *testing.T, newClient func(t *testing.T) redis.UniversalClient, clients int) {
	for _, index := range []bool{false, true} {
		t.Run("Index="+strconv.FormatBool(index), func(t *testing.T) {
			ctx := t.Context()
			prefix := redistest.Prefix(t)
			cfg := Config{Prefix: prefix, Index: index, Now: fakeclock.New().Now}
			id := newID()
			if err := New(newClient(t), cfg).Create(ctx, id, map[string][]byte{"flash": []byte("once")}, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			stores := make([]*Store, clients)
			for i := range stores {
				c := newClient(t)
				// Connected before the start, so that the calls meet in
				// Redis rather than in the dialing.
				if err := c.Ping(ctx).Err(); err != nil {
					t.Fatalf("PING: got error %v, want nil", err)
				}
				stores[i] = New(c, cfg)
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex // protects sums and taken
				sums  = map[string]int{}
				taken []string
			)
			for _, s := range stores {
				wg.Go(func() {
					<-start
					d := store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"flash"}}
					got, found, err := s.Apply(ctx, id, d, time.Hour, 10)
					if err != nil || !found {
						t.Errorf("Apply: got %v, %v, want true, nil", found, err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					sums[string(got["n"])]++
					if v, ok := got["flash"]; ok {
						taken = append(taken, string(v))
					}
				})
			}
			close(start)
			wg.Wait()
			for i := 1; i <= clients; i++ {
				if n := sums[strconv.Itoa(i)]; n != 1 {
					t.Errorf("sum %d: seen by %d calls, want 1", i, n)
				}
			}
			if len(taken) != 1 || taken[0] != "once" {
				t.Errorf("Take of one key by %d clients: got %q, want exactly one \"once\"", clients, taken)
			}
			got, found, err := stores[0].Load(ctx, id, 0)
			if err != nil || !found || len(got) != 1 || string(got["n"]) != strconv.Itoa(clients) {
				t.Errorf("Load after %d concurrent Adds of 1: got %q, %v, %v, want n=%d alone", clients, got, found, err, clients)
			}
		})
	}
}

func TestApplyFromManyClients(t *testing.T) {
	c, ok := redistest.Client(t).(*redis.Client)
	if !ok {
		t.Fatalf("redistest.Client: got a %T, want a *redis.Client", c)
	}
	testApplyFromManyClients(t, func(t *testing.T) redis.UniversalClient {
		o := c.Options()
		client := redis.NewClient(&redis.Options{
			Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
			ContextTimeoutEnabled: true, PoolSize: 1,
		})
		t.Cleanup(func() { _ = client.Close() })
		return client
	}, 200)
}
