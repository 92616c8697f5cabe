package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// moveCases cover Move: what the new ID gets, what is left of the old one,
// when nothing may be written, and atomicity against Update and Delete.
// Every case moves a session to an ID made by renewedID, as the middleware
// does.
var moveCases = []testCase{
	{"Delta", testMoveDelta, "a move stores the values of the old ID, with the Delta applied (clear, then del, then set), under the new ID"},
	{"OldGone", testMoveOldGone, "after a move the old ID is gone: Load finds nothing, and Update, Touch and Move of it report not found and create nothing"},
	{"TTL", testMoveTTL, "a move sets the time to live of the new ID to ttl, whatever the old ID had left"},
	{"Emptied", testMoveEmptied, "a session whose values were all removed still moves, and is found empty under the new ID"},
	{"Missing", testMoveMissing, "moving a missing, expired or deleted session reports not found and creates neither ID"},
	{"Exists", testMoveExists, "moving onto an ID that is stored returns ErrExists and changes neither session nor its expiry"},
	{"ZeroTTL", testMoveZeroTTL, "a move with a ttl of zero or less ends the session whatever the change, the limit or the new ID: it reports found, and stores nothing under the new ID"},
	{"Limits", testMoveLimits, "a move within maxKeys succeeds, and one beyond it returns ErrTooManyKeys and changes neither ID"},
	{"LimitsAlreadyOver", testMoveLimitsAlreadyOver, "a move is held to maxKeys even when the session is already over it"},
	{"RejectedKeepsExpiry", testMoveRejectedKeepsExpiry, "a move rejected for too many keys does not extend the expiry of the old ID"},
	{"Copies", testMoveCopies, "maps and slices passed to Move are not retained"},
	{"RacingUpdates", testMoveRacingUpdates, "updates of the old ID racing a move are either moved along or report not found: none is lost, and none brings the old ID back"},
	{"RacingDelete", testMoveRacingDelete, "a delete of the old ID racing a move either wins, and the move reports not found and creates nothing, or loses, and the new ID holds the session"},
}

func testMoveDelta(t *testing.T, h Harness) {
	for _, tt := range orderTests() {
		// A limit makes a store count keys first: another path to the
		// same result.
		for _, maxKeys := range []int{0, 10} {
			from := newID(t)
			to := renewedID(t, from)
			create(t, h, from, values("a", "1", "b", "2", "c", "3"))
			if found := move(t, h, from, to, tt.delta, maxKeys); !found {
				t.Fatalf("Move(%+v, maxKeys %d): got found=false, want true", tt.delta, maxKeys)
			}
			wantValues(t, h, to, tt.want)
			wantMissing(t, h, from)
		}
	}
}

func testMoveOldGone(t *testing.T, h Harness) {
	ctx := t.Context()
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, from, values("a", "1"))
	if found := move(t, h, from, to, store.Delta{Set: values("b", "2")}, 0); !found {
		t.Fatalf("Move: got found=false, want true")
	}
	wantMissing(t, h, from)

	if _, found, err := h.Store.Load(ctx, from, ttl); err != nil || found {
		t.Errorf("Load with ttl: got %v, %v, want false, nil", found, err)
	}
	for _, tt := range []struct {
		d       store.Delta
		maxKeys int
	}{
		{store.Delta{Set: values("a", "2")}, 0},
		{store.Delta{Clear: true, Set: values("a", "2")}, 0},
		{store.Delta{Set: values("a", "2")}, 10},
		{store.Delta{}, 0},
	} {
		if found := updateLimited(t, h, from, tt.d, tt.maxKeys); found {
			t.Errorf("Update(%+v, maxKeys %d): got found=true, want false", tt.d, tt.maxKeys)
		}
	}
	if found, err := h.Store.Touch(ctx, from, ttl); err != nil || found {
		t.Errorf("Touch: got %v, %v, want false, nil", found, err)
	}
	// A second renewal from a stale cookie.
	again := renewedID(t, from)
	if found := move(t, h, from, again, store.Delta{}, 0); found {
		t.Errorf("second Move: got found=true, want false")
	}
	wantMissing(t, h, again)
	wantMissing(t, h, from)
	wantValues(t, h, to, values("a", "1", "b", "2"))
}

func testMoveTTL(t *testing.T, h Harness) {
	// One session with less time left than the move gives, one with more.
	type session struct {
		created  time.Duration // the ttl it is created with
		from, to string
	}
	sessions := []*session{{created: ttl}, {created: 3 * ttl}}
	for _, s := range sessions {
		s.from = newID(t)
		s.to = renewedID(t, s.from)
		if err := h.Store.Create(t.Context(), s.from, values("a", "1"), s.created, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
	}
	// Both are moved at 50 minutes, to expire at 110.
	h.Advance(ttl - 10*time.Minute)
	for _, s := range sessions {
		if found := move(t, h, s.from, s.to, store.Delta{}, 0); !found {
			t.Fatalf("Move of a session created with ttl %v: got found=false, want true", s.created)
		}
	}
	// Past the expiry of the first.
	h.Advance(20 * time.Minute)
	for _, s := range sessions {
		if _, found := load(t, h, s.to); !found {
			t.Errorf("new ID of a session created with ttl %v, past its old expiry: got found=false, want true", s.created)
		}
		wantMissing(t, h, s.from)
	}
	// Past the expiry the move set, before that of the second.
	h.Advance(ttl - 10*time.Minute)
	for _, s := range sessions {
		if _, found := load(t, h, s.to); found {
			t.Errorf("new ID of a session created with ttl %v, past the ttl of the move: got found=true, want false", s.created)
		}
	}
}

func testMoveEmptied(t *testing.T, h Harness) {
	for _, tt := range []struct {
		before  store.Delta // applied by Update before the move, unless empty
		move    store.Delta
		maxKeys int
	}{
		{store.Delta{Clear: true}, store.Delta{}, 0},
		{store.Delta{Del: []string{"a", "b"}}, store.Delta{}, 0},
		{store.Delta{Clear: true}, store.Delta{}, 1},
		{store.Delta{Del: []string{"a", "b"}}, store.Delta{}, 1},
		{store.Delta{}, store.Delta{Clear: true}, 0},
		{store.Delta{}, store.Delta{Del: []string{"a", "b"}}, 1},
	} {
		from := newID(t)
		to := renewedID(t, from)
		create(t, h, from, values("a", "1", "b", "2"))
		if !tt.before.Empty() {
			if found := updateLimited(t, h, from, tt.before, tt.maxKeys); !found {
				t.Fatalf("Update(%+v, maxKeys %d): got found=false, want true", tt.before, tt.maxKeys)
			}
		}
		if found := move(t, h, from, to, tt.move, tt.maxKeys); !found {
			t.Errorf("Move(%+v, maxKeys %d) after Update(%+v): got found=false, want true", tt.move, tt.maxKeys, tt.before)
		}
		wantValues(t, h, to, nil)
		wantMissing(t, h, from)
		// Still there to be written to.
		if found := update(t, h, to, store.Delta{Set: values("c", "3")}); !found {
			t.Errorf("Update of the new ID: got found=false, want true")
		}
		wantValues(t, h, to, values("c", "3"))
	}
}

func testMoveMissing(t *testing.T, h Harness) {
	ctx := t.Context()
	missing := []struct {
		name string
		id   func() string // returns the ID of a session that is not stored
	}{
		{"never created", func() string { return newID(t) }},
		{"expired", func() string {
			id := newID(t)
			create(t, h, id, values("a", "1"))
			h.Advance(ttl + time.Minute)
			return id
		}},
		{"deleted", func() string {
			id := newID(t)
			create(t, h, id, values("a", "1"))
			if _, err := h.Store.Delete(ctx, id); err != nil {
				t.Fatalf("Delete: got error %v, want nil", err)
			}
			return id
		}},
	}
	for _, m := range missing {
		for _, tt := range []struct {
			d       store.Delta
			maxKeys int
		}{
			{store.Delta{Set: values("a", "2")}, 0},
			{store.Delta{Clear: true, Set: values("a", "2")}, 0},
			{store.Delta{Set: values("a", "2")}, 10},
			{store.Delta{}, 0},
			// Not found rather than too many keys, as with Update.
			{store.Delta{Set: values("a", "2", "b", "3")}, 1},
		} {
			from := m.id()
			to := renewedID(t, from)
			found, err := h.Store.Move(ctx, from, to, tt.d, ttl, tt.maxKeys)
			if err != nil || found {
				t.Errorf("Move of a %s session (%+v, maxKeys %d): got %v, %v, want false, nil", m.name, tt.d, tt.maxKeys, found, err)
			}
			wantMissing(t, h, from)
			wantMissing(t, h, to)
		}
	}

	// Onto a stored ID: the contract does not say which of not found and
	// ErrExists wins, only that nothing is written.
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, to, values("b", "2"))
	found, err := h.Store.Move(ctx, from, to, store.Delta{Set: values("a", "1")}, ttl, 0)
	if found || (err != nil && !errors.Is(err, store.ErrExists)) {
		t.Errorf("Move of a missing session onto a stored ID: got %v, %v, want false, nil or error %v", found, err, store.ErrExists)
	}
	wantMissing(t, h, from)
	wantValues(t, h, to, values("b", "2"))
}

func testMoveExists(t *testing.T, h Harness) {
	type attempt struct {
		from, to string
		maxKeys  int
	}
	var attempts []attempt
	for _, maxKeys := range []int{0, 10} {
		from := newID(t)
		to := renewedID(t, from)
		create(t, h, from, values("a", "1"))
		create(t, h, to, values("b", "2"))
		attempts = append(attempts, attempt{from, to, maxKeys})
	}
	h.Advance(ttl - 10*time.Minute)
	for _, a := range attempts {
		found, err := h.Store.Move(t.Context(), a.from, a.to, store.Delta{Set: values("c", "3")}, ttl, a.maxKeys)
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("Move(maxKeys %d): got %v, %v, want error %v", a.maxKeys, found, err, store.ErrExists)
		}
		wantValues(t, h, a.from, values("a", "1"))
		wantValues(t, h, a.to, values("b", "2"))
	}
	// Past the expiry both had before the move.
	h.Advance(20 * time.Minute)
	for _, a := range attempts {
		wantMissing(t, h, a.from)
		wantMissing(t, h, a.to)
	}
}

func testMoveZeroTTL(t *testing.T, h Harness) {
	for _, end := range []time.Duration{0, -time.Second} {
		for _, maxKeys := range []int{0, 5, 1} { // 1: the change would exceed it
			from := newID(t)
			to := renewedID(t, from)
			create(t, h, from, values("a", "1"))
			found, err := h.Store.Move(t.Context(), from, to, store.Delta{Set: values("b", "2")}, end, maxKeys)
			if err != nil || !found {
				t.Errorf("Move with ttl %v, maxKeys %d: got %v, %v, want true, nil", end, maxKeys, found, err)
			}
			wantMissing(t, h, from)
			// A store that wrote after expiring would leave a session
			// that never expires.
			wantMissing(t, h, to)
		}
		// Onto a stored ID: the session still ends, and the other stays.
		from := newID(t)
		to := renewedID(t, from)
		create(t, h, from, values("a", "1"))
		create(t, h, to, values("other", "1"))
		if found, err := h.Store.Move(t.Context(), from, to, store.Delta{}, end, 0); err != nil || !found {
			t.Errorf("Move with ttl %v onto a stored ID: got %v, %v, want true, nil", end, found, err)
		}
		wantMissing(t, h, from)
		wantValues(t, h, to, values("other", "1"))
	}
}

func testMoveLimits(t *testing.T, h Harness) {
	start, tests := limitTests()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := newID(t)
			to := renewedID(t, from)
			create(t, h, from, start)
			found, err := h.Store.Move(t.Context(), from, to, tt.delta, ttl, 3)
			if tt.want == nil {
				if !errors.Is(err, store.ErrTooManyKeys) {
					t.Errorf("Move: got %v, %v, want error %v", found, err, store.ErrTooManyKeys)
				}
				wantValues(t, h, from, start)
				wantMissing(t, h, to)
				return
			}
			if err != nil || !found {
				t.Errorf("Move: got %v, %v, want true, nil", found, err)
			}
			wantValues(t, h, to, tt.want)
			wantMissing(t, h, from)
		})
	}
}

func testMoveLimitsAlreadyOver(t *testing.T, h Harness) {
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, from, values("a", "1", "b", "2", "c", "3"))
	_, err := h.Store.Move(t.Context(), from, to, store.Delta{Set: values("a", "new")}, ttl, 2)
	if !errors.Is(err, store.ErrTooManyKeys) {
		t.Errorf("Move keeping 3 keys: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	wantValues(t, h, from, values("a", "1", "b", "2", "c", "3"))
	wantMissing(t, h, to)
	found, err := h.Store.Move(t.Context(), from, to, store.Delta{Del: []string{"a"}}, ttl, 2)
	if err != nil || !found {
		t.Errorf("Move down to 2 keys: got %v, %v, want true, nil", found, err)
	}
	wantValues(t, h, to, values("b", "2", "c", "3"))
	wantMissing(t, h, from)
}

func testMoveRejectedKeepsExpiry(t *testing.T, h Harness) {
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, from, values("a", "1"))
	h.Advance(ttl - 10*time.Minute)
	_, err := h.Store.Move(t.Context(), from, to, store.Delta{Set: values("b", "2")}, ttl, 1)
	if !errors.Is(err, store.ErrTooManyKeys) {
		t.Fatalf("Move: got error %v, want %v", err, store.ErrTooManyKeys)
	}
	h.Advance(20 * time.Minute)
	wantMissing(t, h, from)
	wantMissing(t, h, to)
}

func testMoveCopies(t *testing.T, h Harness) {
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, from, values("a", "1", "b", "2"))
	set := values("c", "3")
	del := []string{"a"}
	if found := move(t, h, from, to, store.Delta{Del: del, Set: set}, 0); !found {
		t.Fatalf("Move: got found=false, want true")
	}
	set["c"][0] = 'X'
	set["d"] = []byte("4")
	del[0] = "b"
	wantValues(t, h, to, values("b", "2", "c", "3"))
	// Written to again, in case a store applies what it kept late.
	update(t, h, to, store.Delta{Set: values("e", "5")})
	wantValues(t, h, to, values("b", "2", "c", "3", "e", "5"))
}

func testMoveRacingUpdates(t *testing.T, h Harness) {
	ctx := t.Context()
	from := newID(t)
	to := renewedID(t, from)
	create(t, h, from, values("start", "0"))

	// Each updater writes 1, 2, 3, ... to a key of its own until an Update
	// reports the session gone. The move waits until every updater has
	// written once, so that it lands among Updates in flight.
	const updaters = goroutines - 1
	type result struct {
		last      int   // the last value written with found=true; 0: none
		err       error // an Update failed
		afterMove bool  // an Update begun after Move returned found the session
	}
	var (
		results  [updaters]result
		moved    bool
		moveErr  error
		wg       sync.WaitGroup
		started  sync.WaitGroup // every updater has written once
		moveDone = make(chan struct{})
	)
	started.Add(updaters)
	for i := range updaters {
		wg.Go(func() {
			r := &results[i]
			once := sync.OnceFunc(started.Done)
			defer once()
			k := fmt.Sprint("k", i)
			maxKeys := 0
			if i%2 == 0 {
				maxKeys = goroutines + 1 // the path that counts keys first
			}
			for n := 1; ; n++ {
				var after bool
				select {
				case <-moveDone:
					after = true
				default:
				}
				found, err := h.Store.Update(ctx, from, store.Delta{Set: values(k, fmt.Sprint(n))}, ttl, maxKeys)
				once()
				switch {
				case err != nil:
					r.err = err
					return
				case !found:
					return
				case after:
					r.afterMove = true
					return
				}
				r.last = n
			}
		})
	}
	wg.Go(func() {
		defer close(moveDone)
		started.Wait()
		moved, moveErr = h.Store.Move(ctx, from, to, store.Delta{Set: values("moved", "yes")}, ttl, 0)
	})
	wg.Wait()

	if moveErr != nil || !moved {
		t.Fatalf("Move: got %v, %v, want true, nil", moved, moveErr)
	}
	// Every Update that found the session went along with it.
	want := values("start", "0", "moved", "yes")
	for i, r := range results {
		k := fmt.Sprint("k", i)
		if r.err != nil {
			t.Errorf("Update of %s: got error %v, want nil", k, r.err)
		}
		if r.afterMove {
			t.Errorf("Update of %s begun after the move: got found=true, want false", k)
		}
		if r.last > 0 {
			want[k] = []byte(fmt.Sprint(r.last))
		}
	}
	wantValues(t, h, to, want)
	wantMissing(t, h, from)

	// And those after the move find nothing.
	if found := update(t, h, from, store.Delta{Set: values("late", "v")}); found {
		t.Errorf("Update after the move: got found=true, want false")
	}
	wantMissing(t, h, from)
	wantValues(t, h, to, want)
}

func testMoveRacingDelete(t *testing.T, h Harness) {
	ctx := t.Context()
	// Half the goroutines delete, half move: one of each per session.
	type race struct {
		from, to string
		found    bool
		err      error
	}
	races := make([]race, goroutines/2)
	for i := range races {
		races[i].from = newID(t)
		races[i].to = renewedID(t, races[i].from)
		create(t, h, races[i].from, values("a", "1"))
	}
	var (
		wg         sync.WaitGroup
		startRaces = make(chan struct{})
	)
	for i := range races {
		r := &races[i]
		deleteFirst := i%2 == 0 // in the order the goroutines start
		del := func() {
			<-startRaces
			if _, err := h.Store.Delete(ctx, r.from); err != nil {
				t.Errorf("Delete: got error %v, want nil", err)
			}
		}
		mv := func() {
			<-startRaces
			r.found, r.err = h.Store.Move(ctx, r.from, r.to, store.Delta{Set: values("b", "2")}, ttl, i%2*10)
		}
		if deleteFirst {
			wg.Go(del)
			wg.Go(mv)
		} else {
			wg.Go(mv)
			wg.Go(del)
		}
	}
	close(startRaces)
	wg.Wait()

	for _, r := range races {
		if r.err != nil {
			t.Errorf("Move: got error %v, want nil", r.err)
			continue
		}
		wantMissing(t, h, r.from)
		if r.found {
			// The move won: the delete found nothing to delete.
			wantValues(t, h, r.to, values("a", "1", "b", "2"))
		} else {
			// The delete won: the move wrote nothing.
			wantMissing(t, h, r.to)
		}
	}
}
