package sqlstore_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

func TestApplyAddReadsStoredValuesAsParseInt(t *testing.T) {
	// An Add that only sets and adds is one statement on PostgreSQL, which
	// checks the stored value itself: it must accept exactly what
	// store.AddInt accepts, sum as it does, and on a refusal write nothing
	// (not the Set beside it, not the user, not the expiry).
	stored := []string{
		"0", "5", "-5", "9223372036854775807", "-9223372036854775808", "9223372036854775806",
		"", "-0", "+5", "05", "00", " 5", "5 ", "5\n", "\n5", "5\x00", "\x005", "1e3", "0x10", "5.0",
		"-", "--5", "99999999999999999999", "-99999999999999999999", "9223372036854775808",
		"-9223372036854775809", "١٢", "５", `\061`, "5\\", "\xff5",
	}
	adds := []int64{0, 1, -1, math.MaxInt64, math.MinInt64}
	forEach(t, func(t *testing.T, b backend) {
		clock := fakeclock.New()
		s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
		ctx := t.Context()
		for i, v := range stored {
			id := fmt.Sprintf("Aint%d", i)
			mustCreate(t, s, id, kv("n", v, "other", "x"), time.Hour)
			for _, n := range adds {
				clock.Advance(time.Minute) // a write that is refused must leave the expiry
				before, _, err := s.Peek(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				want, wantErr := store.AddInt(before.Values["n"], n)
				d := store.Delta{Add: map[string]int64{"n": n}, Set: kv("other", "y", store.UserKey, "ann")}
				got, found, err := s.Apply(ctx, id, d, time.Hour, 0)
				after, _, perr := s.Peek(ctx, id)
				if perr != nil {
					t.Fatal(perr)
				}
				if wantErr != nil {
					if !errors.Is(err, store.ErrNotInteger) {
						t.Errorf("stored %q + %d: got %q, %v, %v, want error %v", before.Values["n"], n, got["n"], found, err, store.ErrNotInteger)
					}
					if !equalValues(after.Values, before.Values) || !after.Expires.Equal(before.Expires) || after.User != before.User {
						t.Errorf("stored %q + %d refused: got %q user %q expiring %v, want %q user %q expiring %v: nothing written",
							before.Values["n"], n, after.Values, after.User, after.Expires, before.Values, before.User, before.Expires)
					}
					continue
				}
				if err != nil || !found || string(got["n"]) != strconv.FormatInt(want, 10) {
					t.Errorf("stored %q + %d: got %q, %v, %v, want %d, true, nil", before.Values["n"], n, got["n"], found, err, want)
				}
				if string(after.Values["n"]) != strconv.FormatInt(want, 10) || string(after.Values["other"]) != "y" || after.User != "ann" {
					t.Errorf("stored %q + %d: stored %q, user %q, want n=%d, other=y, user ann", before.Values["n"], n, after.Values, after.User, want)
				}
			}
		}
	})
}

func TestApplyAddNamesTheKeyItRefuses(t *testing.T) {
	// PostgreSQL's one-statement Add learns which key it refused from the
	// text of its error: the key must come back byte for byte, whatever
	// bytes it holds, however long, even when it holds the marker itself.
	keys := []string{
		"n",
		"\x00\xff not UTF-8 \xc3\x28",
		"sqlstore: not an integer: 6e",
		`"» «`,
		strings.Repeat("\xfe", sqlstore.MaxPostgresKey),
	}
	forEach(t, func(t *testing.T, b backend) {
		s, _ := fresh(t, b)
		for i, k := range keys {
			id := fmt.Sprintf("Akey%d", i)
			mustCreate(t, s, id, map[string][]byte{k: []byte("x"), "a": []byte("1")}, time.Hour)
			_, _, err := s.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"a": 1, k: 1}}, time.Hour, 0)
			if !errors.Is(err, store.ErrNotInteger) || !strings.Contains(err.Error(), strconv.Quote(k)) {
				t.Errorf("Add to key %.40q holding x: got error %.200v, want %v naming the key", k, err, store.ErrNotInteger)
			}
		}
	})
}

func TestApplyAddsRacingTakesLoseNothing(t *testing.T) {
	// Adds (one statement on PostgreSQL, upserting on the latest row) and
	// Takes (a transaction that deletes the key) of one key at once: every
	// increment is either in a value a Take returned or in what is left.
	forEach(t, func(t *testing.T, b backend) {
		const adds, takes = 120, 30
		db := b.open(t)
		db.SetMaxOpenConns(40)
		s := newStore(t, db, b.dialect, sqlstore.Config{})
		const id = "Arace"
		mustCreate(t, s, id, kv("other", "x"), time.Hour)
		var (
			mu    sync.Mutex // protects total
			total int64
			wg    sync.WaitGroup
		)
		start := make(chan struct{})
		for i := range adds + takes {
			wg.Go(func() {
				<-start
				d := store.Delta{Add: map[string]int64{"n": 1}}
				if i%5 == 0 {
					d = store.Delta{Take: []string{"n"}}
				}
				got, found, err := s.Apply(t.Context(), id, d, time.Hour, 0)
				if err != nil || !found {
					t.Errorf("Apply %v: got %v, %v, want true, nil", d, found, err)
					return
				}
				if v, ok := got["n"]; ok && len(d.Take) > 0 {
					n, _ := store.ParseInt(v)
					mu.Lock()
					total += n
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		left, _, err := s.Load(t.Context(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := store.ParseInt(left["n"])
		if total+n != adds {
			t.Errorf("taken %d, left %d: got %d increments, want %d", total, n, total+n, adds)
		}
	})
}

func TestApplyAddsRacingForTheLastKeys(t *testing.T) {
	// Adds of new keys at once, beside a Set of a key that exists, to a
	// session nine keys short of MaxKeys: exactly nine
	// succeed, the others are refused with ErrTooManyKeys and write
	// nothing, whether the bound let the one statement through or the
	// transaction counted.
	forEach(t, func(t *testing.T, b backend) {
		const maxKeys, writers = 10, 24
		db := b.open(t)
		db.SetMaxOpenConns(writers)
		s := newStore(t, db, b.dialect, sqlstore.Config{})
		const id = "Alast"
		mustCreate(t, s, id, kv("other", "x"), time.Hour)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				d := store.Delta{Add: map[string]int64{fmt.Sprint("k", i): 1}, Set: kv("other", fmt.Sprint(i))}
				_, found, err := s.Apply(t.Context(), id, d, time.Hour, maxKeys)
				switch {
				case errors.Is(err, store.ErrTooManyKeys):
					refused.Add(1)
				case err == nil && found:
					ok.Add(1)
				default:
					t.Errorf("Apply: got %v, %v, want true, nil or ErrTooManyKeys", found, err)
				}
			})
		}
		close(start)
		wg.Wait()
		got, _, err := s.Load(t.Context(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Load() != maxKeys-1 || refused.Load() != writers-maxKeys+1 || len(got) != maxKeys {
			t.Errorf("got %d written, %d refused, %d keys stored, want %d, %d, %d", ok.Load(), refused.Load(), len(got), maxKeys-1, writers-maxKeys+1, maxKeys)
		}
	})
}
