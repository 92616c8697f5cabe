package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

func TestMixedLoad(t *testing.T) {
	// Every kind of write at once, from several servers, on few shards, so
	// that transactions meet on the same rows of sessions, reservations
	// and counts: a lock taken out of order would show as PostgreSQL's
	// "deadlock detected", a missed count as a wrong total at the end.
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		clock := fakeclock.New()
		const servers, workers, ops = 3, 4, 60
		stores := make([]*sqlstore.Store, servers)
		for i := range stores {
			stores[i] = newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Retention: time.Minute, SweepBatch: 5})
		}
		first := "ABC" // three shards
		var wg sync.WaitGroup
		for w := range servers * workers {
			s := stores[w%servers]
			wg.Go(func() {
				ctx := t.Context()
				r := rand.New(rand.NewPCG(uint64(w), 1))
				var mine []string
				id := func() string { return fmt.Sprintf("%c-%d-%d", first[r.IntN(len(first))], w, r.Int()) }
				for range ops {
					var err error
					switch op := r.IntN(9); {
					case op == 0 || len(mine) == 0:
						n := id()
						var ok bool
						if ok, err = s.Reserve(ctx, n, 1000); ok && err == nil {
							if err = s.Create(ctx, n, map[string][]byte{"a": nil}, time.Duration(1+r.IntN(3))*time.Minute, 0); err == nil {
								mine = append(mine, n)
							}
						}
					case op == 1:
						_, err = s.Delete(ctx, mine[0])
						mine = mine[1:]
					case op == 2: // a renewal, to the same shard or another
						from, to := mine[0], id()
						if _, err = s.Reserve(ctx, to, 0); err == nil {
							var found bool
							if found, err = s.Move(ctx, from, to, store.Delta{Set: map[string][]byte{"b": nil}}, time.Minute, 0); found {
								mine[0] = to
							}
						}
					case op == 3:
						_, err = s.Update(ctx, mine[r.IntN(len(mine))], store.Delta{Del: []string{"a"}, Set: map[string][]byte{"c": nil}}, time.Minute, 10)
					case op == 7: // a counter and a one-shot value, as the middleware's Add and Take
						_, _, err = s.Apply(ctx, mine[r.IntN(len(mine))], store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"a"}}, time.Minute, 10)
					case op == 4:
						var recs []store.Record
						if recs, err = s.ClaimExpired(ctx, 5, time.Second); err == nil && len(recs) > 0 {
							ids := make([]string, len(recs))
							for i, rec := range recs {
								ids[i] = rec.ID
							}
							err = s.Reap(ctx, ids...)
						}
					case op == 5:
						_, err = s.Sweep(ctx)
					case op == 6:
						clock.Advance(20 * time.Second)
					default:
						_, _, err = s.Load(ctx, mine[r.IntN(len(mine))], time.Minute)
					}
					if err != nil {
						t.Errorf("got error %v, want nil", err)
						return
					}
				}
			})
		}
		wg.Wait()
		// Everything ends: every session and reservation stops counting.
		clock.Advance(time.Hour)
		if _, err := stores[0].Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if ok, err := stores[0].Reserve(t.Context(), fmt.Sprint("end", i), 5); err != nil || !ok {
				t.Errorf("Reserve %d of 5 once everything ended: got %v, %v, want true, nil (a count went wrong)", i+1, ok, err)
			}
		}
		if ok, err := stores[0].Reserve(t.Context(), "end5", 5); err != nil || ok {
			t.Errorf("Reserve 6 of 5: got %v, %v, want false, nil (a count went below zero)", ok, err)
		}
	})
}
