package storetest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// applyCases cover Apply's Add and Take: exact under concurrency, all or
// nothing, and in order after Clear, Del and Set.
var applyCases = []testCase{
	{"Order", testApplyOrder, "Apply without Add or Take applies a Delta as Update does, and returns no values"},
	{"Add", testApplyAdd, "Add adds to a decimal integer, counts a missing key as 0, and returns the sums"},
	{"AddAfterSet", testApplyAddAfterSet, "Add comes after Clear, Del and Set in one Delta, and adds to what they leave"},
	{"AddNotInteger", testApplyAddNotInteger, "an Add that meets a value that is not a canonical decimal integer, or overflows an int64, fails with ErrNotInteger and writes nothing, the rest of the Delta included"},
	{"AddMaxKeys", testApplyAddMaxKeys, "the keys an Add creates count toward maxKeys; over it, nothing is written"},
	{"Take", testApplyTake, "Take returns and removes the keys that are there, and leaves out those that are not"},
	{"TakeAfterAdd", testApplyTakeAfterAdd, "Take comes last: it takes what Set and Add left"},
	{"Missing", testApplyMissing, "Apply on a session that was never created, expired or was deleted reports not found and writes nothing"},
	{"TTL", testApplyTTL, "Apply sets the time to live as Update does, and a ttl of zero ends the session"},
	{"ConcurrentAdds", testApplyConcurrentAdds, "concurrent Adds to one key are exact: none is lost, and each sees a distinct sum"},
	{"ConcurrentTakes", testApplyConcurrentTakes, "of concurrent Takes of one key, exactly one gets the value"},
	{"CanceledContext", testApplyCanceledContext, "a canceled context makes Apply fail, writing nothing"},
}

// apply calls Apply with the suite's ttl, or fails the test.
func apply(t *testing.T, h Harness, id string, d store.Delta) (map[string][]byte, bool) {
	t.Helper()
	got, found, err := h.Store.Apply(t.Context(), id, d, ttl, 0)
	if err != nil {
		t.Fatalf("Apply(%+v): got error %v, want nil", d, err)
	}
	return got, found
}

// wantReturned fails the test unless Apply returned exactly want (nil and
// empty alike).
func wantReturned(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if !equal(got, want) {
		t.Errorf("%s: Apply returned %s, want %s", what, format(got), format(want))
	}
}

func testApplyOrder(t *testing.T, h Harness) {
	for _, tt := range orderTests() {
		id := newID(t)
		create(t, h, id, values("a", "1", "b", "2", "c", "3"))
		got, found := apply(t, h, id, tt.delta)
		if !found {
			t.Fatalf("Apply(%+v): got found=false, want true", tt.delta)
		}
		wantReturned(t, fmt.Sprintf("%+v", tt.delta), got, nil)
		wantValues(t, h, id, tt.want)
	}
}

func testApplyAdd(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("n", "41", "neg", "-5", "other", "x"))
	got, found := apply(t, h, id, store.Delta{Add: map[string]int64{"n": 1, "neg": -10, "fresh": 7, "zero": 0}})
	if !found {
		t.Fatal("Apply: got found=false, want true")
	}
	wantReturned(t, "Add", got, values("n", "42", "neg", "-15", "fresh", "7", "zero", "0"))
	wantValues(t, h, id, values("n", "42", "neg", "-15", "fresh", "7", "zero", "0", "other", "x"))

	// The int64 bounds are reachable.
	got, _ = apply(t, h, id, store.Delta{Add: map[string]int64{"n": math.MaxInt64 - 42, "neg": math.MinInt64 + 15}})
	wantReturned(t, "Add to the bounds", got, values("n", strconv.FormatInt(math.MaxInt64, 10), "neg", strconv.FormatInt(math.MinInt64, 10)))
}

func testApplyAddAfterSet(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("set", "100", "del", "100", "kept", "100", store.UserKey, "ann"))
	got, found := apply(t, h, id, store.Delta{
		Del: []string{"del"},
		Set: values("set", "5"),
		Add: map[string]int64{"set": 1, "del": 1, "kept": 1},
	})
	if !found {
		t.Fatal("Apply: got found=false, want true")
	}
	wantReturned(t, "Add after Del and Set", got, values("set", "6", "del", "1", "kept", "101"))

	got, _ = apply(t, h, id, store.Delta{Clear: true, Add: map[string]int64{"kept": 2}})
	wantReturned(t, "Add after Clear", got, values("kept", "2"))
	wantValues(t, h, id, values("kept", "2", store.UserKey, "ann"))
}

func testApplyAddNotInteger(t *testing.T, h Harness) {
	bads := []string{"", "x", "1.5", " 1", "1 ", "+1", "01", "-0", "1e3", "\"1\"", "99999999999999999999",
		"9223372036854775808", "-9223372036854775809", "0x10", "1\x00", "\xff1", "1\n", "\\1", "١"}
	for _, bad := range bads {
		// A Delta that also deletes and takes, and one that only sets and
		// adds: a store may run them differently.
		for _, d := range []store.Delta{
			{Set: values("a", "2", "b", "3"), Del: []string{"a"}, Add: map[string]int64{"bad": 1, "c": 1}, Take: []string{"a"}},
			{Set: values("b", "3"), Add: map[string]int64{"bad": 1, "c": 1}},
		} {
			id := newID(t)
			start := values("bad", bad, "a", "1")
			create(t, h, id, start)
			got, found, err := h.Store.Apply(t.Context(), id, d, ttl, 0)
			if !errors.Is(err, store.ErrNotInteger) {
				t.Errorf("Add to %q: got %s, %v, %v, want error %v", bad, format(got), found, err, store.ErrNotInteger)
			}
			wantValues(t, h, id, start)
		}
	}

	// A value the same Delta sets empty, or nil (stored empty), is no
	// integer either.
	for _, v := range [][]byte{{}, nil} {
		id := newID(t)
		start := values("a", "1")
		create(t, h, id, start)
		d := store.Delta{Set: map[string][]byte{"e": v}, Add: map[string]int64{"e": 1}}
		if _, _, err := h.Store.Apply(t.Context(), id, d, ttl, 0); !errors.Is(err, store.ErrNotInteger) {
			t.Errorf("Set %q and Add to it: got error %v, want %v", v, err, store.ErrNotInteger)
		}
		wantValues(t, h, id, start)
	}

	// Sums past the int64 bounds.
	for _, tt := range []struct {
		start string
		add   int64
	}{
		{strconv.FormatInt(math.MaxInt64, 10), 1},
		{"1", math.MaxInt64},
		{strconv.FormatInt(math.MinInt64, 10), -1},
		{"-2", math.MinInt64},
	} {
		id := newID(t)
		start := values("n", tt.start)
		create(t, h, id, start)
		if _, _, err := h.Store.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"n": tt.add, "m": 1}}, ttl, 0); !errors.Is(err, store.ErrNotInteger) {
			t.Errorf("Add %d to %s: got error %v, want %v", tt.add, tt.start, err, store.ErrNotInteger)
		}
		wantValues(t, h, id, start)
	}
}

func testApplyAddMaxKeys(t *testing.T, h Harness) {
	id := newID(t)
	start := values("a", "1", "b", "2")
	create(t, h, id, start)
	// Adding to a key that exists creates none: within a limit of 2.
	if got, found, err := h.Store.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"a": 1}}, ttl, 2); err != nil || !found {
		t.Fatalf("Add to an existing key at the limit: got %s, %v, %v, want found, nil", format(got), found, err)
	}
	start["a"] = []byte("2")
	// A new key would make three.
	if _, _, err := h.Store.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"a": 1, "c": 1}}, ttl, 2); !errors.Is(err, store.ErrTooManyKeys) {
		t.Errorf("Add creating a key past the limit: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	wantValues(t, h, id, start)
	// Unless the Delta deletes another first.
	if _, found, err := h.Store.Apply(t.Context(), id, store.Delta{Del: []string{"b"}, Add: map[string]int64{"c": 1}}, ttl, 2); err != nil || !found {
		t.Errorf("Add creating a key after a Del within the limit: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, id, values("a", "2", "c", "1"))
	// A Set and an Add of one new key count it once.
	if _, found, err := h.Store.Apply(t.Context(), id, store.Delta{Del: []string{"c"}, Set: values("d", "5"), Add: map[string]int64{"d": 1}}, ttl, 2); err != nil || !found {
		t.Errorf("Set and Add of one new key within the limit: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, id, values("a", "2", "d", "6"))
}

func testApplyTake(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("flash", "\"saved\"", "empty", "", "keep", "1"))
	got, found := apply(t, h, id, store.Delta{Take: []string{"flash", "empty", "missing"}})
	if !found {
		t.Fatal("Apply: got found=false, want true")
	}
	wantReturned(t, "Take", got, values("flash", "\"saved\"", "empty", ""))
	if v, ok := got["empty"]; !ok || v == nil {
		t.Errorf("Take of an empty value: got %q (present %v), want a non-nil empty value", v, ok)
	}
	if _, ok := got["missing"]; ok {
		t.Errorf("Take of a missing key: got it in the values, want it left out")
	}
	wantValues(t, h, id, values("keep", "1"))

	got, found = apply(t, h, id, store.Delta{Take: []string{"flash"}})
	if !found {
		t.Fatal("second Apply: got found=false, want true")
	}
	wantReturned(t, "second Take", got, nil)
}

func testApplyTakeAfterAdd(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("n", "1", "s", "old"))
	got, _ := apply(t, h, id, store.Delta{Set: values("s", "new"), Add: map[string]int64{"n": 1}, Take: []string{"n", "s"}})
	wantReturned(t, "Take after Set and Add", got, values("n", "2", "s", "new"))
	wantValues(t, h, id, nil)
}

func testApplyMissing(t *testing.T, h Harness) {
	d := store.Delta{Set: values("a", "1"), Add: map[string]int64{"n": 1}, Take: []string{"t"}}
	never := newID(t)
	expired := newID(t)
	createTTL(t, h, expired, values("t", "1"), time.Minute)
	deleted := newID(t)
	create(t, h, deleted, values("t", "1"))
	del(t, h, deleted)
	h.Advance(2 * time.Minute)
	for _, tt := range []struct{ name, id string }{{"never created", never}, {"expired", expired}, {"deleted", deleted}} {
		got, found := apply(t, h, tt.id, d)
		if found || len(got) > 0 {
			t.Errorf("Apply to a session %s: got %s, %v, want nothing, false", tt.name, format(got), found)
		}
		wantMissing(t, h, tt.id)
	}
}

func testApplyTTL(t *testing.T, h Harness) {
	id := newID(t)
	createTTL(t, h, id, values("n", "1"), time.Minute)
	h.Advance(30 * time.Second)
	if _, found, err := h.Store.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"n": 1}}, time.Minute, 0); err != nil || !found {
		t.Fatalf("Apply: got %v, %v, want true, nil", found, err)
	}
	h.Advance(45 * time.Second) // past the first expiry, within the second
	wantValues(t, h, id, values("n", "2"))

	got, found, err := h.Store.Apply(t.Context(), id, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"n"}}, 0, 0)
	if err != nil || !found {
		t.Errorf("Apply with a ttl of zero: got %s, %v, %v, want found, nil", format(got), found, err)
	}
	wantMissing(t, h, id)
}

func testApplyConcurrentAdds(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("other", "x"))
	sums := make(chan int64, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			// Half of them also write a key of their own, as a request
			// that saves its other changes with the Add does.
			d := store.Delta{Add: map[string]int64{"n": 1}}
			if i%2 == 0 {
				d.Set = values(fmt.Sprint("k", i), "v")
			}
			got, found, err := h.Store.Apply(t.Context(), id, d, ttl, 0)
			if err != nil || !found {
				t.Errorf("Apply: got %v, %v, want true, nil", found, err)
				return
			}
			n, ok := store.ParseInt(got["n"])
			if !ok {
				t.Errorf("Apply: got sum %q, want a decimal integer", got["n"])
			}
			sums <- n
		})
	}
	wg.Wait()
	close(sums)
	seen := make(map[int64]bool)
	for n := range sums {
		if seen[n] || n < 1 || n > goroutines {
			t.Errorf("Apply: got sum %d twice or out of 1..%d", n, goroutines)
		}
		seen[n] = true
	}
	got, _ := load(t, h, id)
	if string(got["n"]) != strconv.Itoa(goroutines) {
		t.Errorf("after %d concurrent Adds of 1: got %q, want %d", goroutines, got["n"], goroutines)
	}
	if len(got) != 2+goroutines/2 {
		t.Errorf("after the concurrent Adds: got %d keys, want %d", len(got), 2+goroutines/2)
	}
}

func testApplyConcurrentTakes(t *testing.T, h Harness) {
	for round := range 5 {
		id := newID(t)
		create(t, h, id, values("flash", fmt.Sprint(round), "keep", "1"))
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex // protects taken
			taken []string
		)
		for range goroutines {
			wg.Go(func() {
				got, found, err := h.Store.Apply(t.Context(), id, store.Delta{Take: []string{"flash"}}, ttl, 0)
				if err != nil || !found {
					t.Errorf("Apply: got %v, %v, want true, nil", found, err)
					return
				}
				if v, ok := got["flash"]; ok {
					mu.Lock()
					taken = append(taken, string(v))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(taken) != 1 || taken[0] != fmt.Sprint(round) {
			t.Errorf("round %d: %d concurrent Takes got %q, want exactly one %q", round, goroutines, taken, fmt.Sprint(round))
		}
		wantValues(t, h, id, values("keep", "1"))
	}
}

func testApplyCanceledContext(t *testing.T, h Harness) {
	id := newID(t)
	start := values("n", "1", "t", "x")
	create(t, h, id, start)
	if _, _, err := h.Store.Apply(canceled(t), id, store.Delta{Set: values("a", "1"), Add: map[string]int64{"n": 1}, Take: []string{"t"}}, ttl, 0); err == nil {
		t.Errorf("Apply with a canceled context: got no error, want one")
	}
	wantValues(t, h, id, start)
}
