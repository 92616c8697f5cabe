package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// lenderCases cover store.Lender: a View holds what Load would have
// returned, and keeps holding it whatever happens to the session after. They
// skip when the store has no Lender.
var lenderCases = []testCase{
	{"Lends", testLenderLends, "Lend finds what Load finds, with the same values, and reports a missing, deleted or expired session not found with a nil View"},
	{"TTL", testLenderTTL, "Lend with a ttl sets the session's time to live, and without one leaves it alone"},
	{"Unchanged", testLenderUnchanged, "a View keeps the values it was lent with after the session is updated, added to, taken from, cleared, moved, deleted or expired"},
	{"AppendToLent", testLenderAppendToLent, "appending to a value a View returned changes no other value, lent or stored"},
	{"Snapshot", testLenderSnapshot, "a View lent while other calls write the session is one consistent state of it, the same at every read"},
	{"CanceledContext", testLenderCanceledContext, "Lend fails with a canceled context"},
}

// lender returns h.Store as a store.Lender, or skips the case.
func lender(t *testing.T, h Harness) store.Lender {
	t.Helper()
	return capability[store.Lender](t, h, "store.Lender")
}

// lend lends the values of session id with ttl and returns them and
// whether it was found, or fails the test.
func lend(t *testing.T, l store.Lender, id string, ttl time.Duration) (store.View, bool) {
	t.Helper()
	v, found, err := l.Lend(t.Context(), id, ttl)
	if err != nil {
		t.Fatalf("Lend: got error %v, want nil", err)
	}
	if found != (v != nil) {
		t.Fatalf("Lend: got found=%v with View %v, want a View exactly when found", found, v)
	}
	return v, found
}

// viewValues returns what v holds as a map, failing the test unless its
// methods agree: All yields each key once, Len counts them, Get finds each
// with the same value (and nothing for a key All does not yield), and Map
// holds the same. The map Map returns is then changed, to check that it
// is the caller's.
func viewValues(t *testing.T, what string, v store.View) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for k, b := range v.All() {
		if _, dup := m[k]; dup {
			t.Fatalf("%s: All yielded %q twice", what, k)
		}
		m[k] = b
	}
	if n := v.Len(); n != len(m) {
		t.Errorf("%s: Len got %d, want %d (what All yields)", what, n, len(m))
	}
	for k, want := range m {
		if b, ok := v.Get(k); !ok || string(b) != string(want) {
			t.Errorf("%s: Get(%q) got %q, %v, want %q, true (what All yields)", what, k, b, ok, want)
		}
	}
	if b, ok := v.Get("storetest:absent"); ok || b != nil {
		t.Errorf("%s: Get of a missing key got %q, %v, want nil, false", what, b, ok)
	}
	own := v.Map()
	if !equal(own, m) {
		t.Errorf("%s: Map got %s, want %s (what All yields)", what, format(own), format(m))
	}
	clear(own)
	own["storetest:added"] = []byte("x")
	if n := v.Len(); n != len(m) {
		t.Errorf("%s: Len got %d after the map Map returned was changed, want %d: the map must be the caller's", what, n, len(m))
	}
	return m
}

// wantView fails the test unless v holds exactly want.
func wantView(t *testing.T, what string, v store.View, want map[string][]byte) {
	t.Helper()
	if got := viewValues(t, what, v); !equal(got, want) {
		t.Errorf("%s: got %s, want %s", what, format(got), format(want))
	}
}

func testLenderLends(t *testing.T, h Harness) {
	l := lender(t, h)
	for _, vals := range []map[string][]byte{
		nil,
		values("a", "1"),
		values("a", "1", "empty", "", store.UserKey, "ann", store.LabelKey, "Firefox"),
	} {
		id := newID(t)
		create(t, h, id, vals)
		v, found := lend(t, l, id, 0)
		if !found {
			t.Fatalf("Lend of a session created with %s: got found=false, want true", format(vals))
		}
		wantView(t, "Lend of a session created with "+format(vals), v, vals)
	}

	if v, found := lend(t, l, newID(t), ttl); found {
		t.Errorf("Lend of a missing session: got found=true with %s, want false", format(viewValues(t, "Lend", v)))
	}
	deleted := newID(t)
	create(t, h, deleted, values("a", "1"))
	del(t, h, deleted)
	if v, found := lend(t, l, deleted, ttl); found {
		t.Errorf("Lend of a deleted session: got found=true with %s, want false", format(viewValues(t, "Lend", v)))
	}
	expired := newID(t)
	createTTL(t, h, expired, values("a", "1"), time.Minute)
	h.Advance(2 * time.Minute)
	if v, found := lend(t, l, expired, ttl); found {
		t.Errorf("Lend of an expired session: got found=true with %s, want false", format(viewValues(t, "Lend", v)))
	}
	// Lend with a ttl must not have brought it back for the others.
	wantMissing(t, h, expired)
}

func testLenderTTL(t *testing.T, h Harness) {
	l := lender(t, h)
	renewed, left := newID(t), newID(t)
	create(t, h, renewed, values("a", "1"))
	create(t, h, left, values("a", "1"))
	h.Advance(ttl - time.Minute)
	if _, found := lend(t, l, renewed, ttl); !found {
		t.Fatalf("Lend with a ttl: got found=false, want true")
	}
	if _, found := lend(t, l, left, 0); !found {
		t.Fatalf("Lend without a ttl: got found=false, want true")
	}
	h.Advance(2 * time.Minute)
	wantValues(t, h, renewed, values("a", "1"))
	wantMissing(t, h, left)
}

func testLenderUnchanged(t *testing.T, h Harness) {
	l := lender(t, h)
	ctx := t.Context()
	id := newID(t)
	create(t, h, id, values("a", "1", "b", "2", "n", "5", "flash", "hi", store.UserKey, "ann"))

	// Before each step, a View and what Load says then, which it must
	// still hold at the end.
	type lent struct {
		step string
		v    store.View
		want map[string][]byte
	}
	var views []lent
	step := func(name string, do func()) {
		t.Helper()
		v, found := lend(t, l, id, ttl)
		if !found {
			t.Fatalf("Lend before %s: got found=false, want true", name)
		}
		want, _ := load(t, h, id)
		views = append(views, lent{name, v, want})
		do()
	}
	step("an Update that sets, deletes and adds keys", func() {
		update(t, h, id, store.Delta{Del: []string{"b"}, Set: values("a", "10", "c", "3")})
	})
	step("an Apply that adds and takes, and a change to what it returned", func() {
		got, found, err := h.Store.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"flash"}}, ttl, 0)
		if err != nil || !found {
			t.Fatalf("Apply: got %v, %v, want true, nil", found, err)
		}
		// The caller's, as Load's values are: no View lent before shares them.
		for _, b := range got {
			for i := range b {
				b[i] = 'X'
			}
		}
	})
	step("an Update that changes the user", func() {
		update(t, h, id, store.Delta{Set: values(store.UserKey, "bob")})
	})
	step("an Update that clears", func() {
		update(t, h, id, store.Delta{Clear: true, Set: values("d", "4")})
	})
	step("a Move with a Delta", func() {
		to := renewedID(t, id)
		if found := move(t, h, id, to, store.Delta{Set: values("e", "5"), Del: []string{"d"}}, 0); !found {
			t.Fatalf("Move: got found=false, want true")
		}
		id = to
	})
	step("a Delete", func() { del(t, h, id) })
	// Expiry ends the next one.
	id = newID(t)
	create(t, h, id, values("a", "1", store.UserKey, "ann"))
	step("its expiry", func() {
		h.Advance(ttl + time.Minute)
		wantMissing(t, h, id)
		if ex, ok := alsoExpirer(h); ok {
			// Claimed and reaped: gone for good.
			if _, err := ex.ClaimExpired(ctx, 100, time.Minute); err != nil {
				t.Fatalf("ClaimExpired: got error %v, want nil", err)
			}
			if err := ex.Reap(ctx, id); err != nil {
				t.Fatalf("Reap: got error %v, want nil", err)
			}
		}
	})
	for _, lv := range views {
		wantView(t, "a View lent before "+lv.step, lv.v, lv.want)
	}
}

func testLenderAppendToLent(t *testing.T, h Harness) {
	l := lender(t, h)
	id := newID(t)
	create(t, h, id, values("a", "1", "b", "2", "c", "3"))
	update(t, h, id, store.Delta{Set: values("d", "4")})
	v, _ := lend(t, l, id, 0)
	other, _ := lend(t, l, id, 0)
	appended := map[string][]byte{}
	// One byte: what fits in capacity a backend may have left past a value.
	for k, b := range v.All() {
		appended[k] = append(b, '!')
	}
	for k, want := range values("a", "1!", "b", "2!", "c", "3!", "d", "4!") {
		if got := appended[k]; string(got) != string(want) {
			t.Errorf("value %q after appending to each: got %q, want %q", k, got, want)
		}
	}
	all := values("a", "1", "b", "2", "c", "3", "d", "4")
	wantView(t, "the View appended to", v, all)
	wantView(t, "another View of the same values", other, all)
	wantValues(t, h, id, all)
}

func testLenderSnapshot(t *testing.T, h Harness) {
	l := lender(t, h)
	ctx := t.Context()
	id := newID(t)
	create(t, h, id, values("a", "0", "b", "0"))
	const writes = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		// Each Update sets a and b to one number together, and sets or
		// deletes c, so that the session's slice of keys changes too.
		for i := 1; i <= writes; i++ {
			d := store.Delta{Set: values("a", strconv.Itoa(i), "b", strconv.Itoa(i))}
			if i%2 == 0 {
				d.Set["c"] = []byte("even")
			} else {
				d.Del = []string{"c"}
			}
			if _, err := h.Store.Update(ctx, id, d, ttl, 0); err != nil {
				t.Errorf("Update: got error %v, want nil", err)
				return
			}
		}
	})
	for range writes {
		v, found, err := l.Lend(ctx, id, 0)
		if err != nil || !found {
			t.Fatalf("Lend: got %v, %v, want true, nil", found, err)
		}
		first := viewValues(t, "a View lent during Updates", v)
		if a, b := string(first["a"]), string(first["b"]); a != b {
			t.Fatalf("a View lent during Updates: got a=%q and b=%q, want them equal: one Update set both", a, b)
		}
		// Read again while the writes go on: the same values.
		wantView(t, fmt.Sprintf("a View lent at a=%s, read again", first["a"]), v, first)
	}
	wg.Wait()
}

func testLenderCanceledContext(t *testing.T, h Harness) {
	l := lender(t, h)
	id := newID(t)
	create(t, h, id, values("a", "1"))
	if v, found, err := l.Lend(canceled(t), id, ttl); err == nil || found || v != nil {
		t.Errorf("Lend with a canceled context: got %v, %v, %v, want nil, false and an error", v, found, err)
	}
}
