package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/seed58a3dad2/session/store"
)

// goroutines is how many concurrent calls the concurrency cases make.
const goroutines = 50

// concurrencyCases check that each call is applied atomically.
var concurrencyCases = []testCase{
	{"UpdatesDifferentKeys", testConcurrencyUpdatesDifferentKeys, "concurrent updates of different keys of one session all keep their change"},
	{"UpdatesMaxKeys", testConcurrencyUpdatesMaxKeys, "concurrent updates never take a session past MaxKeys"},
	{"Creates", testConcurrencyCreates, "concurrent creates of one ID let exactly one succeed"},
}

func testConcurrencyUpdatesDifferentKeys(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("start", "0"))
	want := values("start", "0")
	for i := range goroutines {
		want[fmt.Sprint("k", i)] = []byte(fmt.Sprint("v", i))
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			k := fmt.Sprint("k", i)
			d := store.Delta{Set: map[string][]byte{k: want[k]}}
			maxKeys := 0
			if i%2 == 0 {
				maxKeys = goroutines + 1 // the path that counts keys first
			}
			found, err := h.Store.Update(t.Context(), id, d, ttl, maxKeys)
			if err == nil && !found {
				err = errors.New("found=false")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: got error %v, want nil", err)
		}
	}
	wantValues(t, h, id, want)
}

func testConcurrencyUpdatesMaxKeys(t *testing.T, h Harness) {
	const maxKeys = 10
	id := newID(t)
	create(t, h, id, values("start", "0"))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // protects ok and rejected
		ok       int
		rejected int
	)
	for i := range goroutines {
		wg.Go(func() {
			d := store.Delta{Set: values(fmt.Sprint("k", i), "v")}
			found, err := h.Store.Update(t.Context(), id, d, ttl, maxKeys)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && found:
				ok++
			case errors.Is(err, store.ErrTooManyKeys):
				rejected++
			default:
				t.Errorf("Update: got %v, %v, want true, nil or %v", found, err, store.ErrTooManyKeys)
			}
		})
	}
	wg.Wait()
	if ok != maxKeys-1 || rejected != goroutines-(maxKeys-1) {
		t.Errorf("got %d updates applied and %d rejected, want %d and %d", ok, rejected, maxKeys-1, goroutines-(maxKeys-1))
	}
	if got, _ := load(t, h, id); len(got) != maxKeys {
		t.Errorf("got %d keys, want %d", len(got), maxKeys)
	}
}

func testConcurrencyCreates(t *testing.T, h Harness) {
	id := newID(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex // protects created and exists
		created int
		exists  int
	)
	for i := range goroutines {
		wg.Go(func() {
			err := h.Store.Create(t.Context(), id, values("creator", fmt.Sprint(i)), ttl, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, store.ErrExists):
				exists++
			default:
				t.Errorf("Create: got error %v, want nil or %v", err, store.ErrExists)
			}
		})
	}
	wg.Wait()
	if created != 1 || exists != goroutines-1 {
		t.Errorf("got %d created and %d ErrExists, want 1 and %d", created, exists, goroutines-1)
	}
}
