package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Harness is one store under test, fresh for each subtest.
type Harness struct {
	// Store is the store under test. It must hold no sessions.
	Store store.Store
	// Advance moves the store's notion of time forward by d, so that
	// expiry can be tested without waiting: a fake clock for an in-memory
	// store, FastForward for miniredis, reduced TTLs for a real Redis.
	Advance func(d time.Duration)
}

// ttl is the time to live of sessions in the suite: long enough that a real
// Redis, whose clock keeps running during the test, never expires a session
// the test did not mean to expire.
const ttl = time.Hour

// Run runs the conformance suite, each case as a subtest of t with a fresh
// harness from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.test(t, newHarness(t))
		})
	}
}

// A testCase is one behaviour every store must have.
type testCase struct {
	name string
	test func(t *testing.T, h Harness)
}

// cases lists the suite; the files of this package define them.
var cases = slices.Concat(basicCases, updateCases, expiryCases, limitCases, concurrencyCases)

// newID returns a random session ID shaped like the real ones (16 random
// bytes, base64url), so that runs against a shared Redis never collide.
func newID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// values builds a value map from key, value pairs of strings.
func values(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

// create stores a session with vals or fails the test.
func create(t *testing.T, h Harness, id string, vals map[string][]byte) {
	t.Helper()
	if err := h.Store.Create(t.Context(), id, vals, ttl, 0); err != nil {
		t.Fatalf("Create: got error %v, want nil", err)
	}
}

// load returns the values of session id (without changing its expiry), and
// whether it was found, or fails the test.
func load(t *testing.T, h Harness, id string) (map[string][]byte, bool) {
	t.Helper()
	got, found, err := h.Store.Load(t.Context(), id, 0)
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	return got, found
}

// update applies d with the suite's ttl and returns found, or fails the test.
func update(t *testing.T, h Harness, id string, d store.Delta) bool {
	t.Helper()
	return updateLimited(t, h, id, d, 0)
}

// updateLimited is update with a limit of maxKeys.
func updateLimited(t *testing.T, h Harness, id string, d store.Delta, maxKeys int) bool {
	t.Helper()
	found, err := h.Store.Update(t.Context(), id, d, ttl, maxKeys)
	if err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	return found
}

// wantValues fails the test unless session id is stored with exactly want.
func wantValues(t *testing.T, h Harness, id string, want map[string][]byte) {
	t.Helper()
	got, found := load(t, h, id)
	if !found {
		t.Fatalf("Load: got found=false, want true")
	}
	if !equal(got, want) {
		t.Errorf("Load: got %s, want %s", format(got), format(want))
	}
}

// wantMissing fails the test unless session id is not found.
func wantMissing(t *testing.T, h Harness, id string) {
	t.Helper()
	if got, found := load(t, h, id); found {
		t.Errorf("Load: got found=true with %s, want found=false", format(got))
	}
}

// equal reports whether two value maps hold the same keys and bytes; nil and
// empty values are equal.
func equal(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}

// format prints a value map with sorted keys and quoted values.
func format(m map[string][]byte) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// canceled returns a context that is already done.
func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// basicCases cover Load, Create, Delete and what values survive a round trip.
var basicCases = []testCase{
	{"loading a missing session reports not found and no error", func(t *testing.T, h Harness) {
		got, found, err := h.Store.Load(t.Context(), newID(t), ttl)
		if err != nil || found || len(got) != 0 {
			t.Errorf("Load: got %s, %v, %v, want empty, false, nil", format(got), found, err)
		}
	}},
	{"a created session loads with its values", func(t *testing.T, h Harness) {
		id := newID(t)
		create(t, h, id, values("user", "42", "theme", "dark"))
		wantValues(t, h, id, values("user", "42", "theme", "dark"))
	}},
	{"a session created without values loads as found and empty", func(t *testing.T, h Harness) {
		for _, vals := range []map[string][]byte{nil, {}} {
			id := newID(t)
			create(t, h, id, vals)
			wantValues(t, h, id, nil)
		}
	}},
	{"maps passed in and returned are copies", func(t *testing.T, h Harness) {
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
	}},
	{"empty values round-trip as present and empty", func(t *testing.T, h Harness) {
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
	}},
	{"binary values and unusual keys round-trip", func(t *testing.T, h Harness) {
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
	}},
	{"a session with thousands of values round-trips", func(t *testing.T, h Harness) {
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
	}},
	{"delete removes a session", func(t *testing.T, h Harness) {
		id := newID(t)
		create(t, h, id, values("a", "1"))
		if err := h.Store.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
		wantMissing(t, h, id)
	}},
	{"deleting a missing session is not an error", func(t *testing.T, h Harness) {
		if err := h.Store.Delete(t.Context(), newID(t)); err != nil {
			t.Errorf("Delete: got error %v, want nil", err)
		}
	}},
	{"creating an existing ID returns ErrExists and keeps the stored values", func(t *testing.T, h Harness) {
		id := newID(t)
		create(t, h, id, values("a", "1"))
		err := h.Store.Create(t.Context(), id, values("b", "2"), ttl, 0)
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("second Create: got error %v, want %v", err, store.ErrExists)
		}
		wantValues(t, h, id, values("a", "1"))
	}},
	{"a canceled context makes every method fail", func(t *testing.T, h Harness) {
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
			{"Touch", func() error { _, err := h.Store.Touch(ctx, id, ttl); return err }},
			{"Delete", func() error { return h.Store.Delete(ctx, id) }},
		}
		for _, c := range calls {
			if err := c.call(); err == nil {
				t.Errorf("%s: got error nil, want non-nil", c.method)
			}
		}
	}},
}
