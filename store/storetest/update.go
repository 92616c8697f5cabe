package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// updateCases cover how Update applies a Delta and when it must not write.
var updateCases = []testCase{
	{"Order", testUpdateOrder, "update applies clear, then del, then set"},
	{"NeverCreated", testUpdateNeverCreated, "updating a session that was never created reports not found and creates nothing"},
	{"Expired", testUpdateExpired, "updating an expired session reports not found and creates nothing"},
	{"Deleted", testUpdateDeleted, "updating a deleted session reports not found and creates nothing"},
	{"Emptied", testUpdateEmptied, "a session whose values were all removed still exists"},
	{"TouchMissing", testUpdateTouchMissing, "touching a missing session reports not found and creates nothing"},
	{"ClearKeepsMetadata", testUpdateClearKeepsMetadata, "Clear removes the values but keeps the metadata ('@' keys), which counts toward maxKeys, in Update and Move alike"},
}

func testUpdateClearKeepsMetadata(t *testing.T, h Harness) {
	start := values("a", "1", "b", "2", store.UserKey, "ann", store.LabelKey, "Firefox")
	want := values("c", "3", store.UserKey, "ann", store.LabelKey, "Firefox")

	id := newID(t)
	create(t, h, id, start)
	if found := update(t, h, id, store.Delta{Clear: true, Set: values("c", "3")}); !found {
		t.Fatalf("Update with Clear: got found=false, want true")
	}
	wantValues(t, h, id, want)

	from := newID(t)
	create(t, h, from, start)
	to := renewedID(t, from)
	if found, err := h.Store.Move(t.Context(), from, to, store.Delta{Clear: true, Set: values("c", "3")}, ttl, 0); err != nil || !found {
		t.Fatalf("Move with Clear: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, to, want)

	// Two metadata values kept and two set make four: over a limit of 3.
	id = newID(t)
	create(t, h, id, start)
	if _, err := h.Store.Update(t.Context(), id, store.Delta{Clear: true, Set: values("c", "3", "d", "4")}, ttl, 3); !errors.Is(err, store.ErrTooManyKeys) {
		t.Errorf("Update with Clear over maxKeys: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	wantValues(t, h, id, start)
	// Setting a kept metadata key does not count it twice.
	if found, err := h.Store.Update(t.Context(), id, store.Delta{Clear: true, Set: values("c", "3", store.UserKey, "bob")}, ttl, 3); err != nil || !found {
		t.Errorf("Update with Clear within maxKeys: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, id, values("c", "3", store.UserKey, "bob", store.LabelKey, "Firefox"))
}

func testUpdateOrder(t *testing.T, h Harness) {
	for _, tt := range orderTests() {
		id := newID(t)
		create(t, h, id, values("a", "1", "b", "2", "c", "3"))
		if found := update(t, h, id, tt.delta); !found {
			t.Fatalf("Update(%+v): got found=false, want true", tt.delta)
		}
		wantValues(t, h, id, tt.want)
	}
}

func testUpdateNeverCreated(t *testing.T, h Harness) {
	id := newID(t)
	if found := update(t, h, id, store.Delta{Set: values("a", "1")}); found {
		t.Errorf("Update: got found=true, want false")
	}
	wantMissing(t, h, id)
}

func testUpdateExpired(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl + time.Minute)
	if found := update(t, h, id, store.Delta{Set: values("a", "2")}); found {
		t.Errorf("Update: got found=true, want false")
	}
	wantMissing(t, h, id)
}

func testUpdateDeleted(t *testing.T, h Harness) {
	for _, tt := range []struct {
		d       store.Delta
		maxKeys int
	}{
		{store.Delta{Set: values("a", "2")}, 0},
		{store.Delta{Clear: true, Set: values("a", "2")}, 0},
		{store.Delta{Set: values("a", "2")}, 10},
		{store.Delta{}, 0},
	} {
		id := newID(t)
		create(t, h, id, values("a", "1"))
		if _, err := h.Store.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
		if found := updateLimited(t, h, id, tt.d, tt.maxKeys); found {
			t.Errorf("Update(%+v, maxKeys %d): got found=true, want false", tt.d, tt.maxKeys)
		}
		wantMissing(t, h, id)
	}
}

func testUpdateEmptied(t *testing.T, h Harness) {
	for _, tt := range []struct {
		d       store.Delta
		maxKeys int
	}{
		{store.Delta{Clear: true}, 0},
		{store.Delta{Del: []string{"a", "b"}}, 0},
		{store.Delta{Clear: true}, 1},
		{store.Delta{Del: []string{"a", "b"}}, 1},
	} {
		d := tt.d
		id := newID(t)
		create(t, h, id, values("a", "1", "b", "2"))
		updateLimited(t, h, id, d, tt.maxKeys)
		wantValues(t, h, id, nil)
		// Still there to be written to.
		if found := update(t, h, id, store.Delta{Set: values("c", "3")}); !found {
			t.Errorf("Update after %+v: got found=false, want true", d)
		}
		wantValues(t, h, id, values("c", "3"))
	}
}

func testUpdateTouchMissing(t *testing.T, h Harness) {
	id := newID(t)
	found, err := h.Store.Touch(t.Context(), id, ttl)
	if err != nil || found {
		t.Errorf("Touch: got %v, %v, want false, nil", found, err)
	}
	wantMissing(t, h, id)
}

// An orderTest is a Delta and the values it leaves of a session holding
// a=1, b=2, c=3.
type orderTest struct {
	delta store.Delta
	want  map[string][]byte
}

// orderTests exercise the order Clear, Del, Set, which Update and Move
// share.
func orderTests() []orderTest {
	return []orderTest{
		{store.Delta{}, values("a", "1", "b", "2", "c", "3")},
		{store.Delta{Set: values("b", "new", "d", "4")}, values("a", "1", "b", "new", "c", "3", "d", "4")},
		{store.Delta{Del: []string{"a", "missing"}}, values("b", "2", "c", "3")},
		{store.Delta{Del: []string{"a"}, Set: values("a", "again")}, values("a", "again", "b", "2", "c", "3")},
		{store.Delta{Clear: true}, nil},
		{store.Delta{Clear: true, Set: values("a", "after")}, values("a", "after")},
		{store.Delta{Clear: true, Del: []string{"x"}, Set: values("b", "new")}, values("b", "new")},
	}
}
