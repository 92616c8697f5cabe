package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// limiterCases cover store.Limiter: counting sessions toward a limit,
// exactly under concurrent calls, and what stops a session counting. They
// skip when the store has no Limiter or its index is switched off.
var limiterCases = []testCase{
	{"Max", testLimiterMax, "Reserve counts up to max sessions, stored or only reserved, and refuses the next, counting nothing for it"},
	{"Concurrent", testLimiterConcurrent, "50 concurrent Reserves of new IDs with max 20 let exactly 20 succeed"},
	{"Ended", testLimiterEnded, "a session stops counting once deleted, removed, moved away from or reaped"},
	{"NoLimit", testLimiterNoLimit, "Reserve with max 0 always succeeds, and counts the ID toward the limits of later calls"},
	{"Grace", testLimiterGrace, "a reservation whose session is never stored stops counting after the grace period (the suite assumes at most an hour, the contract's bound)"},
	{"CanceledContext", testLimiterCanceledContext, "a canceled context makes Reserve fail"},
}

// reserve returns l.Reserve of id with max, or fails the test.
func reserve(t *testing.T, l store.Limiter, id string, max int) bool {
	t.Helper()
	ok, err := l.Reserve(t.Context(), id, max)
	if err != nil {
		t.Fatalf("Reserve(max %d): got error %v, want nil", max, err)
	}
	return ok
}

// wantReserve fails the test unless Reserve of a new ID with max reports
// want, and returns the ID. when says what came before.
func wantReserve(t *testing.T, l store.Limiter, max int, want bool, when string) string {
	t.Helper()
	id := newID(t)
	if got := reserve(t, l, id, max); got != want {
		t.Errorf("Reserve(max %d) %s: got %v, want %v", max, when, got, want)
	}
	return id
}

// reserveAndCreate reserves a new ID with max and stores a session under it,
// or fails the test.
func reserveAndCreate(t *testing.T, h Harness, l store.Limiter, max int) string {
	t.Helper()
	id := newID(t)
	if !reserve(t, l, id, max) {
		t.Fatalf("Reserve(max %d): got false, want true", max)
	}
	create(t, h, id, values("a", "1"))
	return id
}

func testLimiterMax(t *testing.T, h Harness) {
	l := limiter(t, h)
	a := reserveAndCreate(t, h, l, 3)
	reserveAndCreate(t, h, l, 3)
	wantReserve(t, l, 3, true, "with 2 sessions stored")
	wantReserve(t, l, 3, false, "with 2 stored and 1 reserved")
	wantReserve(t, l, 3, false, "again")
	// The refused ones counted nothing: one ended makes room for one.
	del(t, h, a)
	wantReserve(t, l, 3, true, "after one of 3 was deleted")
	wantReserve(t, l, 3, false, "after that")
	wantReserve(t, l, 4, true, "with a higher max")
}

func testLimiterConcurrent(t *testing.T, h Harness) {
	l := limiter(t, h)
	const tries, max = 50, 20
	var (
		wg sync.WaitGroup
		mu sync.Mutex // protects ok
		ok int
	)
	for range tries {
		wg.Go(func() {
			id := newID(t)
			got, err := l.Reserve(t.Context(), id, max)
			if err != nil {
				t.Errorf("Reserve: got error %v, want nil", err)
				return
			}
			if got {
				// Often before the other Reserves are done.
				if err := h.Store.Create(t.Context(), id, nil, ttl, 0); err != nil {
					t.Errorf("Create: got error %v, want nil", err)
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != max {
		t.Errorf("Reserves that succeeded: got %v, want %v", ok, max)
	}
	wantReserve(t, l, max, false, "after them")
}

func testLimiterEnded(t *testing.T, h Harness) {
	l := limiter(t, h)
	ctx := t.Context()
	deleted := reserveAndCreate(t, h, l, 1)
	wantReserve(t, l, 1, false, "with one session")
	del(t, h, deleted)
	removed := reserveAndCreate(t, h, l, 1)
	if ix, ok := alsoIndexer(h); ok {
		wantReserve(t, l, 1, false, "with one session")
		if _, found, err := ix.Remove(ctx, removed); err != nil || !found {
			t.Fatalf("Remove: got %v, %v, want true, nil", found, err)
		}
	} else {
		del(t, h, removed)
	}

	// A move reserves the new ID without a limit, then the old one stops
	// counting: one session, one counted.
	from := reserveAndCreate(t, h, l, 1)
	to := renewedID(t, from)
	if !reserve(t, l, to, 0) {
		t.Fatalf("Reserve(max 0) of the new ID of a Move: got false, want true")
	}
	move(t, h, from, to, store.Delta{}, 0)
	wantReserve(t, l, 1, false, "after a Move")
	last := wantReserve(t, l, 2, true, "after a Move, with max 2")
	create(t, h, last, nil)
	wantReserve(t, l, 2, false, "with the moved session and one more")

	ex, ok := alsoExpirer(h)
	if !ok {
		return
	}
	h.Advance(ttl + time.Minute)
	recs := claim(t, ex, 10, lease)
	wantClaimed(t, "ClaimExpired", recs, map[string]map[string][]byte{to: values("a", "1"), last: {}})
	reap(t, ex, recordIDs(recs)...)
	wantReserve(t, l, 2, true, "after both sessions were reaped")
	wantReserve(t, l, 2, true, "a second time after that")
	wantReserve(t, l, 2, false, "a third time")
}

func testLimiterNoLimit(t *testing.T, h Harness) {
	l := limiter(t, h)
	a := reserveAndCreate(t, h, l, 2)
	b := reserveAndCreate(t, h, l, 2)
	wantReserve(t, l, 2, false, "with 2 sessions")
	c := newID(t)
	if !reserve(t, l, c, 0) {
		t.Errorf("Reserve(max 0) with 2 sessions: got false, want true")
	}
	create(t, h, c, nil)
	del(t, h, a)
	wantReserve(t, l, 2, false, "with 2 sessions, one of them reserved with max 0")
	del(t, h, b)
	wantReserve(t, l, 2, true, "with 1 session, reserved with max 0")
}

func testLimiterGrace(t *testing.T, h Harness) {
	l := limiter(t, h)
	for range 3 {
		wantReserve(t, l, 3, true, "with fewer than 3 reserved")
	}
	wantReserve(t, l, 3, false, "with 3 reserved")
	h.Advance(time.Hour)
	wantReserve(t, l, 3, true, "an hour after 3 were reserved, none stored")
}

func testLimiterCanceledContext(t *testing.T, h Harness) {
	l := limiter(t, h)
	if ok, err := l.Reserve(canceled(t), newID(t), 10); err == nil {
		t.Errorf("Reserve: got %v, error nil, want an error", ok)
	}
}
