package memstore_test

import (
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// TestLentViewsUnderEveryWrite lends a session's values while other
// goroutines change it by every write path memstore has (Update with Clear,
// Apply with Add and Take, Move there and back, Delete and Create), on
// sessions of few values and of more than fit in a slice. Each View must
// read the same twice, and hold what one write left, as must what Load
// copies: run with -race, a
// write into values an entry already holds is a data race on the View.
func TestLentViewsUnderEveryWrite(t *testing.T) {
	for _, keys := range []int{3, 7, 8, 9, 20} {
		t.Run(fmt.Sprintf("%d keys", keys), func(t *testing.T) {
			mem := memstore.New(memstore.Config{})
			t.Cleanup(func() { mem.Close() })
			ctx := t.Context()
			ttl := time.Hour
			ids := []string{"sess-a", "sess-b"}
			initial := func(gen int) map[string][]byte {
				m := map[string][]byte{store.UserKey: []byte("ann"), "gen": []byte(strconv.Itoa(gen))}
				for i := range keys {
					m["k"+strconv.Itoa(i)] = []byte(strconv.Itoa(gen))
				}
				return m
			}
			if err := mem.Create(ctx, ids[0], initial(0), ttl, 0); err != nil {
				t.Fatal(err)
			}
			const writes = 300
			var wg sync.WaitGroup
			wg.Go(func() {
				at := 0 // which of ids holds the session
				for i := 1; i <= writes; i++ {
					id := ids[at]
					g := []byte(strconv.Itoa(i))
					var err error
					switch i % 6 {
					case 0: // every key at once, the slice of keys grows and shrinks
						d := store.Delta{Set: map[string][]byte{"gen": g}}
						for k := range keys {
							d.Set["k"+strconv.Itoa(k)] = g
						}
						if i%12 == 0 {
							d.Set["extra"] = g
						} else {
							d.Del = []string{"extra"}
						}
						_, err = mem.Update(ctx, id, d, ttl, 0)
					case 1: // Clear keeps '@user'
						d := store.Delta{Clear: true, Set: maps.Clone(initial(i))}
						delete(d.Set, store.UserKey)
						_, err = mem.Update(ctx, id, d, ttl, 0)
					case 2: // Add and Take
						var got map[string][]byte
						got, _, err = mem.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"flash"}}, ttl, 0)
						for _, b := range got { // the caller's own
							for j := range b {
								b[j] = 'X'
							}
						}
						if err == nil {
							_, err = mem.Update(ctx, id, store.Delta{Set: map[string][]byte{"flash": []byte("hi")}}, ttl, 0)
						}
					case 3: // Move, with and without a change
						to := ids[1-at]
						d := store.Delta{}
						if i%2 == 1 {
							d.Set = map[string][]byte{store.UserKey: []byte("bob" + strconv.Itoa(i))}
						}
						_, err = mem.Move(ctx, id, to, d, ttl, 0)
						at = 1 - at
					case 4: // MaxKeys refusal: nothing changes
						_, err = mem.Update(ctx, id, store.Delta{Set: map[string][]byte{"z1": g, "z2": g}}, ttl, 1)
						if err == store.ErrTooManyKeys {
							err = nil
						}
					case 5: // Delete, and the session again
						_, err = mem.Delete(ctx, id)
						if err == nil {
							err = mem.Create(ctx, id, initial(i), ttl, 0)
						}
					}
					if err != nil {
						t.Errorf("write %d: %v", i, err)
						return
					}
				}
			})
			for range writes {
				for _, id := range ids {
					v, found, err := mem.Lend(ctx, id, 0)
					if err != nil {
						t.Fatal(err)
					}
					if !found {
						continue
					}
					first := copyView(v)
					// Every k<i> equals gen: each write sets them together.
					gen := first["gen"]
					for k := range keys {
						if got := first["k"+strconv.Itoa(k)]; got != gen {
							t.Fatalf("View of %s: k%d=%q, gen=%q, want equal: %v", id, k, got, gen, first)
						}
					}
					if again := copyView(v); !maps.Equal(again, first) {
						t.Fatalf("View of %s read again: got %v, want %v", id, again, first)
					}
					if m := v.Map(); len(m) != v.Len() {
						t.Fatalf("View of %s: Map has %d values, Len says %d", id, len(m), v.Len())
					}
					// Load copies outside the shard's lock: the same holds.
					if m, found, err := mem.Load(ctx, id, 0); err != nil {
						t.Fatal(err)
					} else if found {
						for k := range keys {
							if got := m["k"+strconv.Itoa(k)]; string(got) != string(m["gen"]) {
								t.Fatalf("Load of %s: k%d=%q, gen=%q, want equal", id, k, got, m["gen"])
							}
						}
					}
				}
			}
			wg.Wait()
		})
	}
}

func copyView(v store.View) map[string]string {
	m := make(map[string]string, v.Len())
	for k, b := range v.All() {
		m[k] = string(b)
	}
	return m
}
