package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// newID returns a random session ID shaped like the real ones (16 random
// bytes, base64url), so that runs against a shared Redis never collide.
func newID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// renewedID returns a new random ID to move session from to, shaped like
// the ones the middleware makes when it renews an ID: it shares the first
// character of from, which a store may rely on (see package store).
func renewedID(t testing.TB, from string) string {
	t.Helper()
	return from[:1] + newID(t)[1:]
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

// move moves session from to to with the suite's ttl and returns found, or
// fails the test.
func move(t *testing.T, h Harness, from, to string, d store.Delta, maxKeys int) bool {
	t.Helper()
	found, err := h.Store.Move(t.Context(), from, to, d, ttl, maxKeys)
	if err != nil {
		t.Fatalf("Move: got error %v, want nil", err)
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

// createTTL stores a session with vals that expires after d, or fails the
// test.
func createTTL(t *testing.T, h Harness, id string, vals map[string][]byte, d time.Duration) {
	t.Helper()
	if err := h.Store.Create(t.Context(), id, vals, d, 0); err != nil {
		t.Fatalf("Create with ttl %v: got error %v, want nil", d, err)
	}
}

// del deletes session id and returns found, or fails the test.
func del(t *testing.T, h Harness, id string) bool {
	t.Helper()
	found, err := h.Store.Delete(t.Context(), id)
	if err != nil {
		t.Fatalf("Delete: got error %v, want nil", err)
	}
	return found
}
