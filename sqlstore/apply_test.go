package sqlstore_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

func TestApplyConcurrentConnections(t *testing.T) {
	// Many Adds and Takes of one key at once, from several servers (stores
	// on one database) and through connections of their own: on
	// PostgreSQL they queue on the session's row lock, on SQLite on the
	// file's write lock between servers and on each server's queue within
	// it. None may fail for the locking (SQLITE_BUSY, a deadlock), none
	// may be lost, and one Take wins.
	forEach(t, func(t *testing.T, b backend) {
		const adds, takes, servers = 200, 50, 20
		db := b.open(t)
		db.SetMaxOpenConns(adds + servers)
		db.SetMaxIdleConns(adds + servers)
		clock := fakeclock.New()
		stores := make([]*sqlstore.Store, servers)
		for i := range stores {
			stores[i] = newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
		}
		const id = "Aconcurrent"
		mustCreate(t, stores[0], id, kv("other", "x"), time.Hour)

		// all runs call(i) for i in [0, n) at once, each in a goroutine, on
		// store i%servers.
		all := func(n int, call func(i int, s *sqlstore.Store)) {
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					call(i, stores[i%servers])
				})
			}
			close(start)
			wg.Wait()
		}

		sums := make(chan int64, adds)
		all(adds, func(i int, s *sqlstore.Store) {
			got, found, err := s.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"n": 1}}, time.Hour, 0)
			if err != nil || !found {
				t.Errorf("Apply of Add n:1: got %v, %v, want true, nil", found, err)
				return
			}
			n, _ := store.ParseInt(got["n"])
			sums <- n
		})
		close(sums)
		seen := make(map[int64]bool)
		for n := range sums {
			if n < 1 || n > adds || seen[n] {
				t.Errorf("Apply returned the sum %d twice or out of 1..%d", n, adds)
			}
			seen[n] = true
		}
		got, _, err := stores[0].Load(t.Context(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(got["n"]) != strconv.Itoa(adds) {
			t.Errorf("after %d concurrent Adds of 1: got n=%q, want %d", adds, got["n"], adds)
		}
		t.Logf("%d connections open after the Adds", db.Stats().OpenConnections)

		for round := range 3 {
			want := fmt.Sprint("flash", round)
			if _, err := stores[0].Update(t.Context(), id, store.Delta{Set: kv("flash", want)}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			var (
				mu    sync.Mutex // protects taken
				taken []string
			)
			all(takes, func(i int, s *sqlstore.Store) {
				got, found, err := s.Apply(t.Context(), id, store.Delta{Take: []string{"flash"}}, time.Hour, 0)
				if err != nil || !found {
					t.Errorf("Apply of Take flash: got %v, %v, want true, nil", found, err)
					return
				}
				if v, ok := got["flash"]; ok {
					mu.Lock()
					taken = append(taken, string(v))
					mu.Unlock()
				}
			})
			if len(taken) != 1 || taken[0] != want {
				t.Errorf("round %d: %d concurrent Takes got %q, want exactly one %q", round, takes, taken, want)
			}
		}
		got, _, err = stores[0].Load(t.Context(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := kv("n", strconv.Itoa(adds), "other", "x"); !equalValues(got, want) {
			t.Errorf("at the end: got %q, want %q", got, want)
		}
	})
}
