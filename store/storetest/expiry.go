package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// expiryCases cover time to live: which calls set it, and what expiry means.
var expiryCases = []testCase{
	{"ZeroTTL", testExpiryZeroTTL, "a ttl of zero or less ends the session"},
	{"AfterTTL", testExpiryAfterTTL, "a session expires after its ttl"},
	{"PerSession", testExpiryPerSession, "each session expires after the ttl it was created with"},
	{"LoadWithoutTTL", testExpiryLoadWithoutTTL, "load without a ttl leaves the expiry alone"},
	{"Extend", testExpiryExtend, "touch, update and load with a ttl extend the expiry"},
}

func testExpiryZeroTTL(t *testing.T, h Harness) {
	ctx := t.Context()
	for _, end := range []time.Duration{0, -time.Second} {
		created := newID(t)
		if err := h.Store.Create(ctx, created, values("a", "1"), end, 0); err != nil {
			t.Fatalf("Create with ttl %v: got error %v, want nil", end, err)
		}
		wantMissing(t, h, created)
		for name, call := range map[string]func(id string) (bool, error){
			"Update": func(id string) (bool, error) {
				return h.Store.Update(ctx, id, store.Delta{Set: values("b", "2")}, end, 0)
			},
			"Update with MaxKeys": func(id string) (bool, error) {
				return h.Store.Update(ctx, id, store.Delta{Set: values("b", "2")}, end, 5)
			},
			"Touch": func(id string) (bool, error) { return h.Store.Touch(ctx, id, end) },
		} {
			live := newID(t)
			create(t, h, live, values("a", "1"))
			if found, err := call(live); err != nil || !found {
				t.Errorf("%s with ttl %v: got %v, %v, want true, nil", name, end, found, err)
			}
			// A store that wrote after expiring (Redis: HSET after
			// PEXPIRE 0) would leave a session that never expires.
			wantMissing(t, h, live)
		}
	}
}

func testExpiryAfterTTL(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl - time.Minute)
	wantValues(t, h, id, values("a", "1"))
	h.Advance(2 * time.Minute)
	wantMissing(t, h, id)

	if found := update(t, h, id, store.Delta{Set: values("a", "2")}); found {
		t.Errorf("Update: got found=true, want false")
	}
	if found, err := h.Store.Touch(t.Context(), id, ttl); err != nil || found {
		t.Errorf("Touch: got %v, %v, want false, nil", found, err)
	}
	if _, found, err := h.Store.Load(t.Context(), id, ttl); err != nil || found {
		t.Errorf("Load with ttl: got %v, %v, want false, nil", found, err)
	}
	wantMissing(t, h, id)
}

func testExpiryPerSession(t *testing.T, h Harness) {
	short, long := newID(t), newID(t)
	if err := h.Store.Create(t.Context(), short, nil, ttl, 0); err != nil {
		t.Fatalf("Create: got error %v, want nil", err)
	}
	if err := h.Store.Create(t.Context(), long, nil, 2*ttl, 0); err != nil {
		t.Fatalf("Create: got error %v, want nil", err)
	}
	h.Advance(ttl + ttl/2)
	wantMissing(t, h, short)
	wantValues(t, h, long, nil)
}

func testExpiryLoadWithoutTTL(t *testing.T, h Harness) {
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl - 10*time.Minute)
	wantValues(t, h, id, values("a", "1"))
	h.Advance(20 * time.Minute)
	wantMissing(t, h, id)
}

func testExpiryExtend(t *testing.T, h Harness) {
	extenders := []struct {
		name   string
		extend func(ctx context.Context, s store.Store, id string) (found bool, err error)
	}{
		{"Touch", func(ctx context.Context, s store.Store, id string) (bool, error) {
			return s.Touch(ctx, id, ttl)
		}},
		{"Update", func(ctx context.Context, s store.Store, id string) (bool, error) {
			return s.Update(ctx, id, store.Delta{Set: values("b", "2")}, ttl, 0)
		}},
		{"Update with an empty delta", func(ctx context.Context, s store.Store, id string) (bool, error) {
			return s.Update(ctx, id, store.Delta{}, ttl, 0)
		}},
		{"Update with MaxKeys", func(ctx context.Context, s store.Store, id string) (bool, error) {
			return s.Update(ctx, id, store.Delta{Set: values("b", "2")}, ttl, 5)
		}},
		{"Update that clears", func(ctx context.Context, s store.Store, id string) (bool, error) {
			return s.Update(ctx, id, store.Delta{Clear: true}, ttl, 0)
		}},
		{"Load with a ttl", func(ctx context.Context, s store.Store, id string) (bool, error) {
			_, found, err := s.Load(ctx, id, ttl)
			return found, err
		}},
	}
	ids := make([]string, len(extenders))
	for i := range extenders {
		ids[i] = newID(t)
		create(t, h, ids[i], values("a", "1"))
	}
	// Each session is extended at 50 minutes, to expire at 110.
	h.Advance(ttl - 10*time.Minute)
	for i, e := range extenders {
		found, err := e.extend(t.Context(), h.Store, ids[i])
		if err != nil || !found {
			t.Errorf("%s: got %v, %v, want true, nil", e.name, found, err)
		}
	}
	// Past the first expiry, before the second.
	h.Advance(20 * time.Minute)
	for i, e := range extenders {
		if _, found := load(t, h, ids[i]); !found {
			t.Errorf("after %s, past the old expiry: got found=false, want true", e.name)
		}
	}
	// Past the second expiry.
	h.Advance(ttl)
	for i, e := range extenders {
		if _, found := load(t, h, ids[i]); found {
			t.Errorf("after %s, past the new expiry: got found=true, want false", e.name)
		}
	}
}
