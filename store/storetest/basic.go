package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// basicCases cover Load, Create, Delete and what values survive a round trip.
var basicCases = []testCase{
	{"LoadMissing", testBasicLoadMissing, "loading a missing session reports not found and no error"},
	{"CreateLoads", testBasicCreateLoads, "a created session loads with its values"},
	{"CreateEmpty", testBasicCreateEmpty, "a session created without values loads as found and empty"},
	{"Copies", testBasicCopies, "maps passed in and returned are copies"},
	{"AppendToCopies", testBasicAppendToCopies, "appending to a value Load or Apply returned changes no other value, returned or stored"},
	{"EmptyValues", testBasicEmptyValues, "empty values round-trip as present and empty"},
	{"BinaryValues", testBasicBinaryValues, "binary values and unusual keys round-trip"},
	{"ThousandsOfValues", testBasicThousandsOfValues, "a session with thousands of values round-trips"},
	{"Delete", testBasicDelete, "delete removes a session and reports that it existed"},
	{"DeleteMissing", testBasicDeleteMissing, "deleting a missing or expired session is not an error and reports it did not exist"},
	{"CreateExists", testBasicCreateExists, "creating an existing ID returns ErrExists and keeps the stored values"},
	{"CanceledContext", testBasicCanceledContext, "a canceled context makes every method fail"},
}

func testBasicLoadMissing(t *testing.T, h Harness) {
	got, found, err := h.Store.Load(t.Context(), newID(t), ttl)
	if err != nil || found || len(got) != 0 {
		t.Errorf("Load: got %s, %v, %v, want empty, false, nil", format(got), found, err)
	}
}

func testBasicCreateLoads(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("user", "42", "theme", "dark"))
	wantValues(t, h, id, values("user", "42", "theme", "dark"))
}

func testBasicCreateEmpty(t *testing.T, h Harness) {
	for _, vals := range []map[string][]byte{nil, {}} {
		id := newID(t)
		create(t, h, id, vals)
		wantValues(t, h, id, nil)
	}
}

func testBasicCopies(t *testing.T, h Harness) {
	id := newID(t)
	in := values("a", "1")
	create(t, h, id, in)
	in["a"][0] = 'X'
	in["b"] = []byte("2")

	set := values("c", "3")
	update(t, h, id, store.Delta{Set: set})
	set["c"][0] = 'X'
	set["d"] = []byte("4")

	out, _ := load(t, h, id)
	out["a"][0] = 'X'
	out["e"] = []byte("5")
	delete(out, "c")

	wantValues(t, h, id, values("a", "1", "c", "3"))
}

func testBasicAppendToCopies(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1", "b", "2", "c", "3"))
	out, _ := load(t, h, id)
	// One byte: what fits in capacity a backend may have left past a value.
	for k := range out {
		out[k] = append(out[k], '!')
	}
	for k, want := range values("a", "1!", "b", "2!", "c", "3!") {
		if got := out[k]; string(got) != string(want) {
			t.Errorf("Load's value %q after appending to each: got %q, want %q", k, got, want)
		}
	}
	taken, found, err := h.Store.Apply(t.Context(), id, store.Delta{Take: []string{"a"}}, ttl, 0)
	if err != nil || !found {
		t.Fatalf("Apply taking a: got %v, %v, want true, nil", found, err)
	}
	_ = append(taken["a"], '!')
	wantValues(t, h, id, values("b", "2", "c", "3"))
}

func testBasicEmptyValues(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, map[string][]byte{"empty": {}, "nil": nil})
	update(t, h, id, store.Delta{Set: map[string][]byte{"set-empty": {}}})
	got, _ := load(t, h, id)
	for _, k := range []string{"empty", "nil", "set-empty"} {
		v, ok := got[k]
		if !ok || len(v) != 0 {
			t.Errorf("value %q: got %q, present=%v, want empty, present=true", k, v, ok)
		}
	}
}

func testBasicBinaryValues(t *testing.T, h Harness) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	keys := []string{
		"a:b", "{tag}", "}{", "with space", " ", "ünïcødé ✓", "日本語",
		"", "@created", "@flash", "!bang", "!!", "\x00\xff", "line\nbreak",
	}
	vals := make(map[string][]byte)
	for i, k := range keys {
		// Every byte value, starting at a different one for each key.
		vals[k] = append(slices.Clone(all[i:]), all[:i]...)
	}
	id := newID(t)
	create(t, h, id, vals)
	wantValues(t, h, id, vals)

	// The same keys written by Update, after Create stored none.
	id = newID(t)
	create(t, h, id, nil)
	update(t, h, id, store.Delta{Set: vals})
	wantValues(t, h, id, vals)

	// And removed by Update, one by one.
	update(t, h, id, store.Delta{Del: keys})
	wantValues(t, h, id, nil)
}

func testBasicThousandsOfValues(t *testing.T, h Harness) {
	// Enough to overflow a backend that passes all arguments of one
	// command at once through a bounded stack (Lua's, in Redis).
	const n = 5000
	first, second := make(map[string][]byte, n), make(map[string][]byte, n)
	var keys []string
	for i := range n {
		k := fmt.Sprint("first-", i)
		keys = append(keys, k)
		first[k] = []byte(fmt.Sprint(i))
		second[fmt.Sprint("second-", i)] = []byte(fmt.Sprint(i))
	}
	id := newID(t)
	if err := h.Store.Create(t.Context(), id, first, ttl, n); err != nil {
		t.Fatalf("Create: got error %v, want nil", err)
	}
	wantValues(t, h, id, first)
	if found, err := h.Store.Update(t.Context(), id, store.Delta{Del: keys, Set: second}, ttl, 0); err != nil || !found {
		t.Fatalf("Update replacing every key: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, id, second)
	if found, err := h.Store.Update(t.Context(), id, store.Delta{Set: first}, ttl, 2*n); err != nil || !found {
		t.Fatalf("Update adding keys within MaxKeys: got %v, %v, want true, nil", found, err)
	}
	if got, _ := load(t, h, id); len(got) != 2*n {
		t.Errorf("got %d keys, want %d", len(got), 2*n)
	}
	update(t, h, id, store.Delta{Clear: true})
	wantValues(t, h, id, nil)
}

func testBasicDelete(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	if found, err := h.Store.Delete(t.Context(), id); err != nil || !found {
		t.Fatalf("Delete: got %v, %v, want true, nil", found, err)
	}
	wantMissing(t, h, id)
	if found, err := h.Store.Delete(t.Context(), id); err != nil || found {
		t.Errorf("Delete again: got %v, %v, want false, nil", found, err)
	}
}

func testBasicDeleteMissing(t *testing.T, h Harness) {
	if found, err := h.Store.Delete(t.Context(), newID(t)); err != nil || found {
		t.Errorf("Delete: got %v, %v, want false, nil", found, err)
	}
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl + time.Minute)
	if found, err := h.Store.Delete(t.Context(), id); err != nil || found {
		t.Errorf("Delete of an expired session: got %v, %v, want false, nil", found, err)
	}
}

func testBasicCreateExists(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	err := h.Store.Create(t.Context(), id, values("b", "2"), ttl, 0)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second Create: got error %v, want %v", err, store.ErrExists)
	}
	wantValues(t, h, id, values("a", "1"))
}

func testBasicCanceledContext(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	ctx := canceled(t)
	calls := []struct {
		method string
		call   func() error
	}{
		{"Load", func() error { _, _, err := h.Store.Load(ctx, id, 0); return err }},
		{"Load with ttl", func() error { _, _, err := h.Store.Load(ctx, id, ttl); return err }},
		{"Create", func() error { return h.Store.Create(ctx, newID(t), nil, ttl, 0) }},
		{"Update", func() error {
			_, err := h.Store.Update(ctx, id, store.Delta{Set: values("b", "2")}, ttl, 0)
			return err
		}},
		{"Move", func() error {
			_, err := h.Store.Move(ctx, id, renewedID(t, id), store.Delta{Set: values("b", "2")}, ttl, 0)
			return err
		}},
		{"Touch", func() error { _, err := h.Store.Touch(ctx, id, ttl); return err }},
		{"Delete", func() error { _, err := h.Store.Delete(ctx, id); return err }},
	}
	for _, c := range calls {
		if err := c.call(); err == nil {
			t.Errorf("%s: got error nil, want non-nil", c.method)
		}
	}
}
