package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// limitCases cover maxKeys in Create and Update.
var limitCases = []testCase{
	{"CreateOver", testLimitsCreateOver, "create with more than maxKeys values returns ErrTooManyKeys and writes nothing"},
	{"CreateWithin", testLimitsCreateWithin, "create with at most maxKeys values, or no limit, succeeds"},
	{"Update", testLimitsUpdate, "an update within MaxKeys succeeds and one beyond it returns ErrTooManyKeys and writes nothing"},
	{"UpdateAlreadyOver", testLimitsUpdateAlreadyOver, "an update is held to MaxKeys even when the session is already over it"},
	{"RejectedKeepsExpiry", testLimitsRejectedKeepsExpiry, "a rejected update does not extend the expiry"},
	{"UpdateMissing", testLimitsUpdateMissing, "an update of a missing session reports not found rather than too many keys"},
}

func testLimitsCreateOver(t *testing.T, h Harness) {
	id := newID(t)
	err := h.Store.Create(t.Context(), id, values("a", "1", "b", "2", "c", "3"), ttl, 2)
	if !errors.Is(err, store.ErrTooManyKeys) {
		t.Errorf("Create: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	wantMissing(t, h, id)
}

func testLimitsCreateWithin(t *testing.T, h Harness) {
	for _, maxKeys := range []int{0, 3, 4} {
		id := newID(t)
		vals := values("a", "1", "b", "2", "c", "3")
		if err := h.Store.Create(t.Context(), id, vals, ttl, maxKeys); err != nil {
			t.Errorf("Create with maxKeys %d: got error %v, want nil", maxKeys, err)
		}
		wantValues(t, h, id, vals)
	}
}

func testLimitsUpdate(t *testing.T, h Harness) {
	start, tests := limitTests()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID(t)
			create(t, h, id, start)
			found, err := h.Store.Update(t.Context(), id, tt.delta, ttl, 3)
			if tt.want == nil {
				if !errors.Is(err, store.ErrTooManyKeys) {
					t.Errorf("Update: got %v, %v, want error %v", found, err, store.ErrTooManyKeys)
				}
				wantValues(t, h, id, start)
				return
			}
			if err != nil || !found {
				t.Errorf("Update: got %v, %v, want true, nil", found, err)
			}
			wantValues(t, h, id, tt.want)
		})
	}
}

func testLimitsUpdateAlreadyOver(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1", "b", "2", "c", "3"))
	_, err := h.Store.Update(t.Context(), id, store.Delta{Set: values("a", "new")}, ttl, 2)
	if !errors.Is(err, store.ErrTooManyKeys) {
		t.Errorf("Update keeping 3 keys: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	found, err := h.Store.Update(t.Context(), id, store.Delta{Del: []string{"a"}}, ttl, 2)
	if err != nil || !found {
		t.Errorf("Update down to 2 keys: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, id, values("b", "2", "c", "3"))
}

func testLimitsRejectedKeepsExpiry(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl - 10*time.Minute)
	_, err := h.Store.Update(t.Context(), id, store.Delta{Set: values("b", "2")}, ttl, 1)
	if !errors.Is(err, store.ErrTooManyKeys) {
		t.Fatalf("Update: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	h.Advance(20 * time.Minute)
	wantMissing(t, h, id)
}

func testLimitsUpdateMissing(t *testing.T, h Harness) {
	id := newID(t)
	found, err := h.Store.Update(t.Context(), id, store.Delta{Set: values("a", "1", "b", "2")}, ttl, 1)
	if err != nil || found {
		t.Errorf("Update: got %v, %v, want false, nil", found, err)
	}
	wantMissing(t, h, id)
}

// A limitTest is a Delta applied under a limit of three keys to a session
// holding three, and the values it leaves.
type limitTest struct {
	name  string
	delta store.Delta
	want  map[string][]byte // nil: ErrTooManyKeys, and nothing written
}

// limitTests returns the three values a session starts with and the Deltas
// that must keep it within a limit of three keys, or be rejected: Update and
// Move count keys alike.
func limitTests() (start map[string][]byte, tests []limitTest) {
	start = values("a", "1", "b", "2", "c", "3")
	return start, []limitTest{
		{"adding a fourth key to three", store.Delta{Set: values("d", "4")}, nil},
		{"replacing an existing key", store.Delta{Set: values("a", "new")}, values("a", "new", "b", "2", "c", "3")},
		{"replacing every key", store.Delta{Set: values("a", "x", "b", "y", "c", "z")}, values("a", "x", "b", "y", "c", "z")},
		{"deleting one key and adding another", store.Delta{Del: []string{"a"}, Set: values("d", "4")}, values("b", "2", "c", "3", "d", "4")},
		{"deleting two keys and adding two", store.Delta{Del: []string{"a", "b"}, Set: values("d", "4", "e", "5")}, values("c", "3", "d", "4", "e", "5")},
		{"deleting one key twice and adding two", store.Delta{Del: []string{"a", "a"}, Set: values("d", "4", "e", "5")}, nil},
		{"deleting a key and setting it again with another", store.Delta{Del: []string{"a"}, Set: values("a", "x", "d", "4")}, nil},
		{"deleting a missing key and adding one", store.Delta{Del: []string{"missing"}, Set: values("d", "4")}, nil},
		{"clearing and adding three", store.Delta{Clear: true, Set: values("w", "1", "x", "2", "y", "3")}, values("w", "1", "x", "2", "y", "3")},
		{"clearing and adding four", store.Delta{Clear: true, Set: values("w", "1", "x", "2", "y", "3", "z", "4")}, nil},
		{"clearing, deleting and setting the old keys", store.Delta{Clear: true, Del: []string{"a"}, Set: start}, start},
	}
}
