package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// expirerCases cover store.Expirer: an expired session is kept for its
// claimer, gone for every other call, handed to one claimer at a time and
// again when a lease runs out, and deleted for good by Reap. They skip when
// the store has no Expirer or its index is switched off.
var expirerCases = []testCase{
	{"Claim", testExpirerClaim, "an expired session is claimed with its values, metadata included, and its Info (Expires when it expired); a session without values is claimed with empty, non-nil Values; while the lease runs no claim returns it again"},
	{"Lease", testExpirerLease, "a claimed session that is not reaped before its lease runs out is claimed again, with its values"},
	{"Reap", testExpirerReap, "a reaped session is never claimed again and stays gone; reaping it twice, a missing ID, or no ID at all is not an error"},
	{"ReapLive", testExpirerReapLive, "Reap never deletes a live session: it keeps its values and is claimed once it expires"},
	{"Live", testExpirerLive, "a live session is never claimed, also past its first expiry when it was extended; a session deleted, removed or moved away from before it expired is never claimed, and a moved one is claimed under its new ID"},
	{"Gone", testExpirerGone, "an expired session that is kept is gone for Load, Update, Touch, Move, Delete and the Indexer's methods, none of them brings it back or changes it, and it is claimed afterwards with the values it had"},
	{"IDInUse", testExpirerIDInUse, "creating or moving onto the ID of an expired session that is kept returns ErrExists and leaves the session to its claimer"},
	{"Limit", testExpirerLimit, "ClaimExpired returns at most limit sessions, and fewer only when no more are claimable, so that claims until a short batch get every expired session once; a limit of zero claims nothing"},
	{"Concurrent", testExpirerConcurrent, "8 claimers claiming concurrently in a loop over 200 expired sessions get each of them exactly once, with its values"},
	{"Retention", testExpirerRetention, "within the retention an expired session is claimed with its values; one that expired longer ago than the retention is returned at most once, with nil Values, and then never again (needs Harness.Retention)"},
	{"CanceledContext", testExpirerCanceledContext, "a canceled context makes ClaimExpired and Reap fail, claiming and reaping nothing"},
}

// lease is the lease of the suite's claims: minutes, so that it runs out
// only when a case advances time past it.
const lease = 5 * time.Minute

// claim returns ex.ClaimExpired(limit, lease), or fails the test.
func claim(t *testing.T, ex store.Expirer, limit int, lease time.Duration) []store.Record {
	t.Helper()
	recs, err := ex.ClaimExpired(t.Context(), limit, lease)
	if err != nil {
		t.Fatalf("ClaimExpired(%d, %v): got error %v, want nil", limit, lease, err)
	}
	if len(recs) > max(limit, 0) {
		t.Errorf("ClaimExpired(%d, %v): got %d sessions, want at most %d", limit, lease, len(recs), max(limit, 0))
	}
	return recs
}

// recordIDs returns the IDs of recs, in their order.
func recordIDs(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = rec.ID
	}
	return out
}

// wantClaimed fails the test unless recs are exactly the sessions of want
// (in any order), each with the values want gives it. what says which claim.
func wantClaimed(t *testing.T, what string, recs []store.Record, want map[string]map[string][]byte) {
	t.Helper()
	seen := make(map[string]bool)
	for _, rec := range recs {
		vals, ok := want[rec.ID]
		switch {
		case !ok:
			t.Errorf("%s: got %s with %s, want only %q", what, rec.ID, format(rec.Values), keys(want))
		case seen[rec.ID]:
			t.Errorf("%s: got %s twice, want it once", what, rec.ID)
		case rec.Values == nil || !equal(rec.Values, vals):
			t.Errorf("%s: got %s with values %s (nil: %v), want %s", what, rec.ID, format(rec.Values), rec.Values == nil, format(vals))
		}
		seen[rec.ID] = true
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s: got %q, want %s among them", what, recordIDs(recs), id)
		}
	}
}

// keys returns the IDs of a map of sessions.
func keys(m map[string]map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}

// reap calls ex.Reap of ids, or fails the test.
func reap(t *testing.T, ex store.Expirer, ids ...string) {
	t.Helper()
	if err := ex.Reap(t.Context(), ids...); err != nil {
		t.Fatalf("Reap of %d IDs: got error %v, want nil", len(ids), err)
	}
}

func testExpirerClaim(t *testing.T, h Harness) {
	ex := expirer(t, h)
	c := newClock(h)
	vals := userValues("ann", "Firefox")
	id, empty := newID(t), newID(t)
	create(t, h, id, vals)
	create(t, h, empty, nil)
	c.advance(10 * time.Minute)
	if found, err := h.Store.Touch(t.Context(), id, ttl); err != nil || !found {
		t.Fatalf("Touch: got %v, %v, want true, nil", found, err)
	}
	createTTL(t, h, newID(t), vals, 2*ttl) // never claimed
	c.advance(ttl + time.Minute)           // past the expiry of id, set at 10 minutes

	recs := claim(t, ex, 10, lease)
	wantClaimed(t, "ClaimExpired", recs, map[string]map[string][]byte{id: vals, empty: {}})
	for _, rec := range recs {
		if rec.ID == id {
			wantInfo(t, "ClaimExpired", rec.Info, id, "ann", "Firefox")
			c.wantTimes(t, "ClaimExpired", rec.Info, 0, 10*time.Minute)
		}
	}
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("second ClaimExpired at once: got %q, want none", recordIDs(recs))
	}
	c.advance(lease - time.Minute)
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired a minute before the lease runs out: got %q, want none", recordIDs(recs))
	}
}

func testExpirerLease(t *testing.T, h Harness) {
	ex := expirer(t, h)
	vals := userValues("ann", "Firefox")
	id := newID(t)
	create(t, h, id, vals)
	h.Advance(ttl + time.Minute)
	wantClaimed(t, "first ClaimExpired", claim(t, ex, 10, lease), map[string]map[string][]byte{id: vals})
	h.Advance(lease - time.Minute)
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired a minute before the lease runs out: got %q, want none", recordIDs(recs))
	}
	h.Advance(2 * time.Minute)
	wantClaimed(t, "ClaimExpired a minute after the lease ran out", claim(t, ex, 10, lease), map[string]map[string][]byte{id: vals})
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired during the second lease: got %q, want none", recordIDs(recs))
	}
}

func testExpirerReap(t *testing.T, h Harness) {
	ex := expirer(t, h)
	a, b := newID(t), newID(t)
	create(t, h, a, values("a", "1"))
	create(t, h, b, values("b", "2"))
	h.Advance(ttl + time.Minute)
	wantClaimed(t, "ClaimExpired", claim(t, ex, 10, lease), map[string]map[string][]byte{a: values("a", "1"), b: values("b", "2")})
	reap(t, ex, a)
	reap(t, ex, a)
	reap(t, ex, newID(t))
	reap(t, ex)
	h.Advance(lease + time.Minute)
	wantClaimed(t, "ClaimExpired after the leases ran out", claim(t, ex, 10, lease), map[string]map[string][]byte{b: values("b", "2")})
	reap(t, ex, b, a)
	h.Advance(lease + time.Minute)
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired after both were reaped: got %q, want none", recordIDs(recs))
	}
	wantMissing(t, h, a)
	wantMissing(t, h, b)
}

func testExpirerReapLive(t *testing.T, h Harness) {
	ex := expirer(t, h)
	vals := userValues("ann", "Firefox")
	id := newID(t)
	create(t, h, id, vals)
	reap(t, ex, id)
	wantValues(t, h, id, vals)
	if ix, ok := alsoIndexer(h); ok {
		wantCount(t, ix, 1, "after Reap of a live session")
		wantUser(t, ix, "ann", id)
	}
	h.Advance(ttl + time.Minute)
	wantClaimed(t, "ClaimExpired", claim(t, ex, 10, lease), map[string]map[string][]byte{id: vals})
}

func testExpirerLive(t *testing.T, h Harness) {
	ex := expirer(t, h)
	ix, hasIndexer := alsoIndexer(h)
	vals := values("a", "1")
	extended, deleted, removed, moved, long := newID(t), newID(t), newID(t), newID(t), newID(t)
	for _, id := range []string{extended, deleted, removed, moved} {
		create(t, h, id, vals)
	}
	createTTL(t, h, long, vals, 3*ttl)
	h.Advance(ttl - 10*time.Minute)
	if found, err := h.Store.Touch(t.Context(), extended, ttl); err != nil || !found {
		t.Fatalf("Touch: got %v, %v, want true, nil", found, err)
	}
	del(t, h, deleted)
	if hasIndexer {
		remove(t, ix, removed)
	} else {
		del(t, h, removed)
	}
	to := renewedID(t, moved)
	move(t, h, moved, to, store.Delta{}, 0)
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired before any expiry: got %q, want none", recordIDs(recs))
	}
	h.Advance(20 * time.Minute) // past the first expiry, before the one set at 50 minutes
	if recs := claim(t, ex, 10, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired past the first expiry: got %q, want none", recordIDs(recs))
	}
	h.Advance(ttl) // past the expiry set at 50 minutes, before the long one
	wantClaimed(t, "ClaimExpired past the second expiry", claim(t, ex, 10, lease), map[string]map[string][]byte{extended: vals, to: vals})
}

func testExpirerGone(t *testing.T, h Harness) {
	ex := expirer(t, h)
	ctx := t.Context()
	vals := userValues("ann", "Firefox")
	id := newID(t)
	create(t, h, id, vals)
	h.Advance(ttl + time.Minute)

	type call struct {
		name string
		call func() (found bool, err error)
	}
	calls := []call{
		{"Load with a ttl", func() (bool, error) { _, found, err := h.Store.Load(ctx, id, ttl); return found, err }},
		{"Load", func() (bool, error) { _, found, err := h.Store.Load(ctx, id, 0); return found, err }},
		{"Update", func() (bool, error) {
			return h.Store.Update(ctx, id, store.Delta{Set: values("b", "2")}, ttl, 0)
		}},
		{"Update with an empty Delta and MaxKeys", func() (bool, error) {
			return h.Store.Update(ctx, id, store.Delta{}, ttl, 5)
		}},
		{"Update that clears", func() (bool, error) {
			return h.Store.Update(ctx, id, store.Delta{Clear: true}, ttl, 0)
		}},
		{"Apply", func() (bool, error) {
			_, found, err := h.Store.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"b"}}, ttl, 0)
			return found, err
		}},
		{"Touch", func() (bool, error) { return h.Store.Touch(ctx, id, ttl) }},
		{"Touch with a ttl of zero", func() (bool, error) { return h.Store.Touch(ctx, id, 0) }},
		{"Move", func() (bool, error) {
			to := renewedID(t, id)
			found, err := h.Store.Move(ctx, id, to, store.Delta{Set: values("b", "2")}, ttl, 0)
			wantMissing(t, h, to)
			return found, err
		}},
		{"Delete", func() (bool, error) { return h.Store.Delete(ctx, id) }},
	}
	ix, hasIndexer := alsoIndexer(h)
	if hasIndexer {
		calls = append(calls,
			call{"Peek", func() (bool, error) { _, found, err := ix.Peek(ctx, id); return found, err }},
			call{"Remove", func() (bool, error) { _, found, err := ix.Remove(ctx, id); return found, err }},
		)
	}
	for _, c := range calls {
		if found, err := c.call(); err != nil || found {
			t.Errorf("%s of an expired session: got %v, %v, want false, nil", c.name, found, err)
		}
	}
	wantMissing(t, h, id)
	if hasIndexer {
		wantCount(t, ix, 0, "with one expired session kept")
		wantUser(t, ix, "ann")
		if got := listAll(t, ix, 10); len(got) != 0 {
			t.Errorf("List with one expired session kept: got %q, want none", ids(got))
		}
	}
	wantClaimed(t, "ClaimExpired after every call", claim(t, ex, 10, lease), map[string]map[string][]byte{id: vals})
}

func testExpirerIDInUse(t *testing.T, h Harness) {
	ex := expirer(t, h)
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl + time.Minute)
	if err := h.Store.Create(t.Context(), id, values("b", "2"), ttl, 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create onto an expired session that is kept: got error %v, want %v", err, store.ErrExists)
	}
	// Move is given IDs in one shard, so this one replaces a session
	// that starts with the same character.
	from := id[:1] + newID(t)[1:]
	create(t, h, from, values("c", "3"))
	if found, err := h.Store.Move(t.Context(), from, id, store.Delta{}, ttl, 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("Move onto an expired session that is kept: got %v, %v, want error %v", found, err, store.ErrExists)
	}
	wantValues(t, h, from, values("c", "3"))
	wantMissing(t, h, id)
	wantClaimed(t, "ClaimExpired", claim(t, ex, 10, lease), map[string]map[string][]byte{id: values("a", "1")})
}

func testExpirerLimit(t *testing.T, h Harness) {
	ex := expirer(t, h)
	want := make(map[string]map[string][]byte)
	for i := range 5 {
		id := newID(t)
		create(t, h, id, values("n", fmt.Sprint(i)))
		want[id] = values("n", fmt.Sprint(i))
	}
	h.Advance(ttl + time.Minute)
	for _, limit := range []int{0, -1} {
		if recs := claim(t, ex, limit, lease); len(recs) != 0 {
			t.Errorf("ClaimExpired(%d, %v): got %q, want none", limit, lease, recordIDs(recs))
		}
	}
	var all []store.Record
	var sizes []int
	for range 10 {
		recs := claim(t, ex, 2, lease)
		all = append(all, recs...)
		sizes = append(sizes, len(recs))
		if len(recs) < 2 {
			break
		}
	}
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("ClaimExpired(2, %v) until a short batch, over 5 sessions: got batches of %v, want [2 2 1]", lease, sizes)
	}
	wantClaimed(t, "the batches together", all, want)
	if recs := claim(t, ex, 2, lease); len(recs) != 0 {
		t.Errorf("ClaimExpired after the short batch: got %q, want none", recordIDs(recs))
	}
}

func testExpirerConcurrent(t *testing.T, h Harness) {
	ex := expirer(t, h)
	const sessions, claimers = 200, 8
	want := make(map[string]map[string][]byte, sessions)
	for i := range sessions {
		id := newID(t)
		create(t, h, id, values("n", fmt.Sprint(i)))
		want[id] = values("n", fmt.Sprint(i))
	}
	h.Advance(ttl + time.Minute)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex // protects all
		all []store.Record
	)
	for range claimers {
		wg.Go(func() {
			for range sessions { // an empty batch ends it much sooner
				recs, err := ex.ClaimExpired(t.Context(), 7, time.Hour)
				if err != nil {
					t.Errorf("ClaimExpired: got error %v, want nil", err)
					return
				}
				mu.Lock()
				all = append(all, recs...)
				mu.Unlock()
				if len(recs) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(all) != sessions {
		t.Errorf("claims of %d claimers together: got %d sessions, want %d", claimers, len(all), sessions)
	}
	wantClaimed(t, "claims of 8 claimers together", all, want)
}

func testExpirerRetention(t *testing.T, h Harness) {
	ex := expirer(t, h)
	if h.Retention <= 0 {
		t.Skip("storetest: Harness.Retention is not set: the store's retention is unknown")
	}
	const lease = 2 * time.Minute
	old, kept := newID(t), newID(t)
	create(t, h, old, values("a", "1"))
	h.Advance(10 * time.Minute)
	create(t, h, kept, values("b", "2"))
	// Past the retention of old by a minute; kept has 9 minutes left.
	h.Advance(ttl + h.Retention - 9*time.Minute)
	oldSeen := 0
	for i, when := range []string{"first ClaimExpired", "ClaimExpired after the lease ran out"} {
		if i > 0 {
			h.Advance(lease + time.Minute)
		}
		var recs []store.Record
		for _, rec := range claim(t, ex, 10, lease) {
			if rec.ID != old {
				recs = append(recs, rec)
				continue
			}
			oldSeen++
			if rec.Values != nil {
				t.Errorf("%s: got the session past the retention with values %s, want nil Values", when, format(rec.Values))
			}
		}
		wantClaimed(t, when, recs, map[string]map[string][]byte{kept: values("b", "2")})
	}
	if oldSeen > 1 {
		t.Errorf("the session past the retention: got it %d times, want at most once", oldSeen)
	}
}

func testExpirerCanceledContext(t *testing.T, h Harness) {
	ex := expirer(t, h)
	id := newID(t)
	create(t, h, id, values("a", "1"))
	h.Advance(ttl + time.Minute)
	ctx := canceled(t)
	if recs, err := ex.ClaimExpired(ctx, 10, lease); err == nil {
		t.Errorf("ClaimExpired: got %q, error nil, want an error", recordIDs(recs))
	}
	if err := ex.Reap(ctx, id); err == nil {
		t.Errorf("Reap: got error nil, want non-nil")
	}
	wantClaimed(t, "ClaimExpired after both failed", claim(t, ex, 10, lease), map[string]map[string][]byte{id: values("a", "1")})
}
