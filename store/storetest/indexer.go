package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// indexerCases cover store.Indexer: counting and listing live sessions,
// Peek and Remove, and the index by user, which follows store.UserKey
// whichever call writes it. They skip when the store has no Indexer or its
// index is switched off.
var indexerCases = []testCase{
	{"Count", testIndexerCount, "Count counts the live sessions: created ones, and not those deleted, removed, moved away from or expired"},
	{"ListPages", testIndexerListPages, "List with a small limit pages through the live sessions, each exactly once, never more than limit a page, until an empty cursor; deleted and expired sessions are not listed"},
	{"ListInfo", testIndexerListInfo, "List gives each session's ID, the raw '@user' and '@label' values as User and Label (\"\" when missing), and when it was created, last accessed and expires"},
	{"Peek", testIndexerPeek, "Peek returns a session's values, metadata included, and its Info, without setting its time to live: a session peeked at still expires when it would have"},
	{"PeekMissing", testIndexerPeekMissing, "Peek of a session never created, deleted or expired reports not found"},
	{"Remove", testIndexerRemove, "Remove deletes a live session and returns its Info; Load, Peek, Count and UserSessions then miss it, and a second Remove or Delete reports not found"},
	{"RemoveMissing", testIndexerRemoveMissing, "Remove of a session never created, deleted or expired reports not found"},
	{"Access", testIndexerAccess, "LastAccess and Expires move with Load with a ttl, Update, Touch and Move, and not with Load without a ttl, Peek, List, UserSessions or a rejected Update; Created stays, also through Move"},
	{"UserSessions", testIndexerUserSessions, "UserSessions lists the live sessions whose '@user' is exactly that user, oldest Created first whatever their last access, with their Info; a user with none, and \"\", list none"},
	{"UserSessionsEnded", testIndexerUserSessionsEnded, "a user's sessions leave UserSessions when deleted, removed, moved away from or expired, and a moved one is listed under its new ID, in the place its Created gives it"},
	{"UserLogin", testIndexerUserLogin, "a session that gets '@user' from a Move (a login that renews an anonymous session's ID) or an Update is listed for that user"},
	{"UserChange", testIndexerUserChange, "changing '@user' by Update or Move moves the session to the new user's list; removing it by Del, or setting it to \"\", takes the session off every list; Clear, which keeps metadata, keeps it listed"},
	{"UserChurn", testIndexerUserChurn, "after a user's sessions were created and ended many times over (by Delete, Remove, Move then Delete, logout by Del of '@user', expiry), UserSessions lists none and Count is 0; that the index itself shrinks each store tests on its own, the contract giving no way to see it"},
	{"CanceledContext", testIndexerCanceledContext, "a canceled context makes every Indexer method fail"},
}

// maxPages bounds how many pages listAll asks for before it decides that
// List never ends.
const maxPages = 1000

// count returns ix.Count, or fails the test.
func count(t *testing.T, ix store.Indexer) int {
	t.Helper()
	n, err := ix.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: got error %v, want nil", err)
	}
	return n
}

// wantCount fails the test unless ix counts want sessions; when says when.
func wantCount(t *testing.T, ix store.Indexer, want int, when string) {
	t.Helper()
	if got := count(t, ix); got != want {
		t.Errorf("Count %s: got %v, want %v", when, got, want)
	}
}

// listAll pages through ix.List with limit and returns every session
// listed, in the order listed, or fails the test.
func listAll(t *testing.T, ix store.Indexer, limit int) []store.Info {
	t.Helper()
	var all []store.Info
	cursor := ""
	for range maxPages {
		page, next, err := ix.List(t.Context(), cursor, limit)
		if err != nil {
			t.Fatalf("List(%q, %d): got error %v, want nil", cursor, limit, err)
		}
		if len(page) > limit {
			t.Errorf("List(%q, %d): got %d sessions, want at most %d", cursor, limit, len(page), limit)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatalf("List(_, %d): got a next page after %d pages and %d sessions, want the last", limit, maxPages, len(all))
	return nil
}

// listed returns what List (with pages of 3) says of each session, by ID.
func listed(t *testing.T, ix store.Indexer) map[string]store.Info {
	t.Helper()
	m := make(map[string]store.Info)
	for _, info := range listAll(t, ix, 3) {
		if _, dup := m[info.ID]; dup {
			t.Errorf("List: got %s twice, want it once", info.ID)
		}
		m[info.ID] = info
	}
	return m
}

// peek returns ix.Peek of id, or fails the test.
func peek(t *testing.T, ix store.Indexer, id string) (store.Record, bool) {
	t.Helper()
	rec, found, err := ix.Peek(t.Context(), id)
	if err != nil {
		t.Fatalf("Peek: got error %v, want nil", err)
	}
	return rec, found
}

// remove returns ix.Remove of id, or fails the test.
func remove(t *testing.T, ix store.Indexer, id string) (store.Info, bool) {
	t.Helper()
	info, found, err := ix.Remove(t.Context(), id)
	if err != nil {
		t.Fatalf("Remove: got error %v, want nil", err)
	}
	return info, found
}

// userSessions returns ix.UserSessions of user, or fails the test.
func userSessions(t *testing.T, ix store.Indexer, user string) []store.Info {
	t.Helper()
	infos, err := ix.UserSessions(t.Context(), user)
	if err != nil {
		t.Fatalf("UserSessions(%q): got error %v, want nil", user, err)
	}
	return infos
}

// wantUser fails the test unless UserSessions of user lists exactly want,
// in that order, each with User set to user.
func wantUser(t *testing.T, ix store.Indexer, user string, want ...string) []store.Info {
	t.Helper()
	got := userSessions(t, ix, user)
	if !slices.Equal(ids(got), want) {
		t.Errorf("UserSessions(%q): got %q, want %q", user, ids(got), want)
	}
	for _, info := range got {
		if info.User != user {
			t.Errorf("UserSessions(%q): got a session with User %q, want %q", user, info.User, user)
		}
	}
	return got
}

// wantInfo fails the test unless info names session id of user with label.
func wantInfo(t *testing.T, what string, info store.Info, id, user, label string) {
	t.Helper()
	if info.ID != id || info.User != user || info.Label != label {
		t.Errorf("%s: got ID %q, User %q, Label %q, want %q, %q, %q", what, info.ID, info.User, info.Label, id, user, label)
	}
}

// userValues returns the values of a session of user with label, and one
// application value.
func userValues(user, label string) map[string][]byte {
	return values(store.UserKey, user, store.LabelKey, label, "theme", "dark")
}

func testIndexerCount(t *testing.T, h Harness) {
	ix := indexer(t, h)
	wantCount(t, ix, 0, "of an empty store")
	var short, long []string
	for range 3 {
		id := newID(t)
		create(t, h, id, values("a", "1"))
		short = append(short, id)
	}
	for range 3 {
		id := newID(t)
		createTTL(t, h, id, userValues("ann", "Firefox"), 2*ttl)
		long = append(long, id)
	}
	wantCount(t, ix, 6, "after 6 creates")
	del(t, h, long[0])
	wantCount(t, ix, 5, "after a Delete")
	remove(t, ix, long[1])
	wantCount(t, ix, 4, "after a Remove")
	move(t, h, short[0], renewedID(t, short[0]), store.Delta{}, 0)
	wantCount(t, ix, 4, "after a Move")
	// The moved session, and the two others created with ttl, expire.
	h.Advance(ttl + time.Minute)
	wantCount(t, ix, 1, "after all but one expired")
}

func testIndexerListPages(t *testing.T, h Harness) {
	ix := indexer(t, h)
	if got := listAll(t, ix, 3); len(got) != 0 {
		t.Errorf("List of an empty store: got %q, want none", ids(got))
	}
	for range 2 {
		create(t, h, newID(t), values("a", "1")) // to expire
	}
	h.Advance(30 * time.Minute)
	var live []string
	for i := range 10 {
		id := newID(t)
		create(t, h, id, userValues(fmt.Sprint("user", i%3), ""))
		live = append(live, id)
	}
	for range 2 {
		id := newID(t)
		create(t, h, id, values("a", "1"))
		del(t, h, id)
	}
	h.Advance(31 * time.Minute) // past the expiry of the first two
	for _, limit := range []int{3, 1, 10, 100} {
		if got := ids(listAll(t, ix, limit)); !sameIDs(got, live) {
			t.Errorf("List in pages of %d: got %q, want %q in any order, each once", limit, got, live)
		}
	}
}

func testIndexerListInfo(t *testing.T, h Harness) {
	ix := indexer(t, h)
	c := newClock(h)
	const user, label = "ünï 42 <ann@example.com>", "Firefox on Linux ✓"
	a, b, d := newID(t), newID(t), newID(t)
	create(t, h, a, userValues(user, label))
	create(t, h, b, values("theme", "light"))
	create(t, h, d, values(store.LabelKey, "curl"))
	c.advance(10 * time.Minute)
	if found, err := h.Store.Touch(t.Context(), a, ttl); err != nil || !found {
		t.Fatalf("Touch: got %v, %v, want true, nil", found, err)
	}
	got := listed(t, ix)
	if len(got) != 3 {
		t.Errorf("List: got %q, want %q in any order", slices.Collect(maps.Keys(got)), []string{a, b, d})
	}
	for _, want := range []struct {
		id, user, label string
		accessed        time.Duration
	}{
		{a, user, label, 10 * time.Minute},
		{b, "", "", 0},
		{d, "", "curl", 0},
	} {
		info, ok := got[want.id]
		if !ok {
			t.Errorf("List: got no %s, want it", want.id)
			continue
		}
		what := fmt.Sprintf("List: session with User %q", want.user)
		wantInfo(t, what, info, want.id, want.user, want.label)
		c.wantTimes(t, what, info, 0, want.accessed)
	}
}

func testIndexerPeek(t *testing.T, h Harness) {
	ix := indexer(t, h)
	c := newClock(h)
	vals := userValues("ann", "Firefox")
	id := newID(t)
	create(t, h, id, vals)
	c.advance(10 * time.Minute)
	rec, found := peek(t, ix, id)
	if !found {
		t.Fatalf("Peek: got found=false, want true")
	}
	if !equal(rec.Values, vals) {
		t.Errorf("Peek: got values %s, want %s", format(rec.Values), format(vals))
	}
	wantInfo(t, "Peek", rec.Info, id, "ann", "Firefox")
	c.wantTimes(t, "Peek", rec.Info, 0, 0)
	rec.Values["theme"][0] = 'X'
	rec.Values["new"] = []byte("1")
	if rec, _ := peek(t, ix, id); !equal(rec.Values, vals) {
		t.Errorf("Peek after changing what an earlier Peek returned: got %s, want %s", format(rec.Values), format(vals))
	}

	// Peeking was no access: the session expires at ttl all the same.
	c.advance(ttl - 11*time.Minute)
	if rec, found := peek(t, ix, id); !found {
		t.Errorf("Peek a minute before the expiry: got found=false, want true")
	} else {
		c.wantTimes(t, "Peek a minute before the expiry", rec.Info, 0, 0)
	}
	c.advance(2 * time.Minute)
	if _, found := peek(t, ix, id); found {
		t.Errorf("Peek a minute after the expiry: got found=true, want false")
	}
	wantMissing(t, h, id)
}

// missingSessions returns the IDs of sessions that are not live: one never
// created, one deleted and one expired, by name. It advances time past ttl.
func missingSessions(t *testing.T, h Harness) map[string]string {
	t.Helper()
	expired, deleted := newID(t), newID(t)
	create(t, h, expired, userValues("ann", "Firefox"))
	create(t, h, deleted, userValues("ann", "Firefox"))
	del(t, h, deleted)
	h.Advance(ttl + time.Minute)
	return map[string]string{"never created": newID(t), "deleted": deleted, "expired": expired}
}

func testIndexerPeekMissing(t *testing.T, h Harness) {
	ix := indexer(t, h)
	for name, id := range missingSessions(t, h) {
		if rec, found := peek(t, ix, id); found {
			t.Errorf("Peek of a session %s: got found=true with %s, want false", name, format(rec.Values))
		}
	}
}

func testIndexerRemove(t *testing.T, h Harness) {
	ix := indexer(t, h)
	c := newClock(h)
	id, other := newID(t), newID(t)
	create(t, h, id, userValues("ann", "Firefox"))
	c.advance(time.Minute)
	create(t, h, other, userValues("ann", "curl"))
	c.advance(time.Minute)

	info, found := remove(t, ix, id)
	if !found {
		t.Fatalf("Remove: got found=false, want true")
	}
	wantInfo(t, "Remove", info, id, "ann", "Firefox")
	c.wantTimes(t, "Remove", info, 0, 0)
	wantMissing(t, h, id)
	if _, found := peek(t, ix, id); found {
		t.Errorf("Peek after Remove: got found=true, want false")
	}
	wantCount(t, ix, 1, "after Remove")
	wantUser(t, ix, "ann", other)
	if _, found := remove(t, ix, id); found {
		t.Errorf("second Remove: got found=true, want false")
	}
	if found := del(t, h, id); found {
		t.Errorf("Delete after Remove: got found=true, want false")
	}
	wantValues(t, h, other, userValues("ann", "curl"))
}

func testIndexerRemoveMissing(t *testing.T, h Harness) {
	ix := indexer(t, h)
	for name, id := range missingSessions(t, h) {
		if info, found := remove(t, ix, id); found {
			t.Errorf("Remove of a session %s: got found=true with %+v, want false", name, info)
		}
	}
}

func testIndexerAccess(t *testing.T, h Harness) {
	ix := indexer(t, h)
	ctx := t.Context()
	c := newClock(h)
	ops := []struct {
		name    string
		renews  bool
		call    func(id string) (string, error) // returns the session's ID after the call
		started string                          // the session's ID before the call
		id      string                          // and after it
	}{
		{name: "Load with a ttl", renews: true, call: func(id string) (string, error) {
			_, _, err := h.Store.Load(ctx, id, ttl)
			return id, err
		}},
		{name: "Update", renews: true, call: func(id string) (string, error) {
			_, err := h.Store.Update(ctx, id, store.Delta{Set: values("b", "2")}, ttl, 0)
			return id, err
		}},
		{name: "Apply", renews: true, call: func(id string) (string, error) {
			_, _, err := h.Store.Apply(ctx, id, store.Delta{Add: map[string]int64{"n": 1}, Take: []string{"a"}}, ttl, 0)
			return id, err
		}},
		{name: "Update with an empty Delta", renews: true, call: func(id string) (string, error) {
			_, err := h.Store.Update(ctx, id, store.Delta{}, ttl, 0)
			return id, err
		}},
		{name: "Touch", renews: true, call: func(id string) (string, error) {
			_, err := h.Store.Touch(ctx, id, ttl)
			return id, err
		}},
		{name: "Move", renews: true, call: func(id string) (string, error) {
			to := renewedID(t, id)
			_, err := h.Store.Move(ctx, id, to, store.Delta{Set: values("b", "2")}, ttl, 0)
			return to, err
		}},
		{name: "Load without a ttl", call: func(id string) (string, error) {
			_, _, err := h.Store.Load(ctx, id, 0)
			return id, err
		}},
		{name: "Peek", call: func(id string) (string, error) {
			_, _, err := ix.Peek(ctx, id)
			return id, err
		}},
		{name: "List", call: func(id string) (string, error) {
			_, _, err := ix.List(ctx, "", 100)
			return id, err
		}},
		{name: "UserSessions", call: func(id string) (string, error) {
			_, err := ix.UserSessions(ctx, "ann")
			return id, err
		}},
		{name: "Update rejected by maxKeys", call: func(id string) (string, error) {
			_, err := h.Store.Update(ctx, id, store.Delta{Set: values("b", "2", "c", "3")}, ttl, 2)
			if errors.Is(err, store.ErrTooManyKeys) {
				err = nil
			} else if err == nil {
				err = errors.New("got no error, want ErrTooManyKeys")
			}
			return id, err
		}},
	}
	for i := range ops {
		ops[i].started = newID(t)
		create(t, h, ops[i].started, userValues("ann", "Firefox"))
	}
	c.advance(10 * time.Minute)
	for i, op := range ops {
		id, err := op.call(op.started)
		if err != nil {
			t.Fatalf("%s: got error %v, want nil", op.name, err)
		}
		ops[i].id = id
	}
	list := listed(t, ix)
	for _, op := range ops {
		accessed := time.Duration(0)
		if op.renews {
			accessed = 10 * time.Minute
		}
		rec, found := peek(t, ix, op.id)
		if !found {
			t.Errorf("Peek after %s: got found=false, want true", op.name)
			continue
		}
		c.wantTimes(t, "Peek after "+op.name, rec.Info, 0, accessed)
		if info, ok := list[op.id]; !ok {
			t.Errorf("List after %s: got no %s, want it", op.name, op.id)
		} else {
			c.wantTimes(t, "List after "+op.name, info, 0, accessed)
		}
	}
}

func testIndexerUserSessions(t *testing.T, h Harness) {
	ix := indexer(t, h)
	ctx := t.Context()
	c := newClock(h)
	var ann []string
	for i := range 4 {
		id := newID(t)
		create(t, h, id, userValues("ann", fmt.Sprint("device ", i)))
		ann = append(ann, id)
		c.advance(time.Minute)
	}
	bob := newID(t)
	create(t, h, bob, userValues("bob", ""))
	for _, other := range [][]byte{[]byte("ann2"), []byte("Ann"), []byte("an"), {}} {
		create(t, h, newID(t), map[string][]byte{store.UserKey: other})
	}
	create(t, h, newID(t), values("theme", "dark")) // no user
	// The oldest by Created stays first, whatever its last access.
	if found, err := h.Store.Touch(ctx, ann[0], ttl); err != nil || !found {
		t.Fatalf("Touch: got %v, %v, want true, nil", found, err)
	}

	got := wantUser(t, ix, "ann", ann...)
	for i, info := range got {
		if i >= len(ann) || info.ID != ann[i] {
			break
		}
		what := fmt.Sprintf("UserSessions: session %d", i)
		wantInfo(t, what, info, ann[i], "ann", fmt.Sprint("device ", i))
		accessed := time.Duration(i) * time.Minute
		if i == 0 {
			accessed = c.now()
		}
		c.wantTimes(t, what, info, time.Duration(i)*time.Minute, accessed)
	}
	wantUser(t, ix, "bob", bob)
	wantUser(t, ix, "nobody")
	wantUser(t, ix, "")
}

func testIndexerUserSessionsEnded(t *testing.T, h Harness) {
	ix := indexer(t, h)
	expires := newID(t)
	createTTL(t, h, expires, userValues("ann", ""), 30*time.Minute)
	s := make([]string, 5)
	for i := range s {
		h.Advance(time.Minute)
		s[i] = newID(t)
		create(t, h, s[i], userValues("ann", ""))
	}
	wantUser(t, ix, "ann", expires, s[0], s[1], s[2], s[3], s[4])
	del(t, h, s[1])
	remove(t, ix, s[2])
	moved := renewedID(t, s[3])
	move(t, h, s[3], moved, store.Delta{}, 0)
	h.Advance(30 * time.Minute) // past the expiry of the first
	wantUser(t, ix, "ann", s[0], moved, s[4])
}

func testIndexerUserLogin(t *testing.T, h Harness) {
	ix := indexer(t, h)
	anon, other := newID(t), newID(t)
	create(t, h, anon, values("cart", "3"))
	h.Advance(time.Minute)
	create(t, h, other, nil)
	wantUser(t, ix, "ann")

	to := renewedID(t, anon)
	move(t, h, anon, to, store.Delta{Set: values(store.UserKey, "ann", store.LabelKey, "Firefox")}, 0)
	got := wantUser(t, ix, "ann", to)
	if len(got) == 1 {
		wantInfo(t, "UserSessions after a Move that set '@user'", got[0], to, "ann", "Firefox")
	}
	wantValues(t, h, to, values("cart", "3", store.UserKey, "ann", store.LabelKey, "Firefox"))

	// A login need not renew the ID.
	if found := update(t, h, other, store.Delta{Set: values(store.UserKey, "ann")}); !found {
		t.Fatalf("Update: got found=false, want true")
	}
	wantUser(t, ix, "ann", to, other)
}

func testIndexerUserChange(t *testing.T, h Harness) {
	ix := indexer(t, h)
	s := make([]string, 4)
	for i := range s {
		s[i] = newID(t)
		create(t, h, s[i], userValues("ann", "Firefox"))
		h.Advance(time.Minute)
	}
	wantUser(t, ix, "ann", s...)

	if found := update(t, h, s[0], store.Delta{Set: values(store.UserKey, "bob")}); !found {
		t.Fatalf("Update setting '@user': got found=false, want true")
	}
	wantUser(t, ix, "ann", s[1], s[2], s[3])
	if got := wantUser(t, ix, "bob", s[0]); len(got) == 1 {
		wantInfo(t, "UserSessions after an Update that changed '@user'", got[0], s[0], "bob", "Firefox")
	}

	if found := update(t, h, s[1], store.Delta{Del: []string{store.UserKey}}); !found {
		t.Fatalf("Update deleting '@user': got found=false, want true")
	}
	wantUser(t, ix, "ann", s[2], s[3])
	if rec, found := peek(t, ix, s[1]); !found || rec.User != "" {
		t.Errorf("Peek of a session whose '@user' was removed: got User %q, found=%v, want \"\", true", rec.User, found)
	}
	// Clear removes the values, not the metadata: the session stays listed.
	if found := update(t, h, s[2], store.Delta{Clear: true, Set: values("theme", "dark")}); !found {
		t.Fatalf("Update clearing the values: got found=false, want true")
	}
	wantUser(t, ix, "ann", s[2], s[3])
	if rec, found := peek(t, ix, s[2]); !found || rec.User != "ann" {
		t.Errorf("Peek of a session whose values were cleared: got User %q, found=%v, want ann, true", rec.User, found)
	}

	moved := renewedID(t, s[3])
	move(t, h, s[3], moved, store.Delta{Set: values(store.UserKey, "carol")}, 0)
	wantUser(t, ix, "ann", s[2])
	wantUser(t, ix, "carol", moved)

	if found := update(t, h, s[0], store.Delta{Set: values(store.UserKey, "")}); !found {
		t.Fatalf("Update setting '@user' to \"\": got found=false, want true")
	}
	wantUser(t, ix, "bob")
	wantUser(t, ix, "")
	wantCount(t, ix, 4, "after the changes of user")
}

func testIndexerUserChurn(t *testing.T, h Harness) {
	ix := indexer(t, h)
	const cycles = 60
	for i := range cycles {
		id := newID(t)
		create(t, h, id, userValues("ann", "Firefox"))
		switch i % 4 {
		case 0:
			del(t, h, id)
		case 1:
			remove(t, ix, id)
		case 2:
			to := renewedID(t, id)
			move(t, h, id, to, store.Delta{}, 0)
			del(t, h, to)
		case 3: // a logout that keeps the session
			update(t, h, id, store.Delta{Del: []string{store.UserKey}})
		}
	}
	for range 20 {
		create(t, h, newID(t), userValues("ann", "Firefox"))
	}
	wantCount(t, ix, cycles/4+20, "before the expiry")
	h.Advance(ttl + time.Minute)
	wantUser(t, ix, "ann")
	wantCount(t, ix, 0, "at the end")
}

func testIndexerCanceledContext(t *testing.T, h Harness) {
	ix := indexer(t, h)
	id := newID(t)
	create(t, h, id, userValues("ann", "Firefox"))
	ctx := canceled(t)
	calls := []struct {
		method string
		call   func() error
	}{
		{"Count", func() error { _, err := ix.Count(ctx); return err }},
		{"List", func() error { _, _, err := ix.List(ctx, "", 10); return err }},
		{"Peek", func() error { _, _, err := ix.Peek(ctx, id); return err }},
		{"Remove", func() error { _, _, err := ix.Remove(ctx, id); return err }},
		{"UserSessions", func() error { _, err := ix.UserSessions(ctx, "ann"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); err == nil {
			t.Errorf("%s: got error nil, want non-nil", c.method)
		}
	}
}
