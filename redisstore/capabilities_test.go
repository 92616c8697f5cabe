package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
)

// A farm is a Redis that indexed stores share in a test: stores of one
// application on it stand for the servers of a farm.
type farm struct {
	c      redis.UniversalClient
	prefix string
	clock  *fakeclock.Clock
	age    func(d time.Duration) // ages the keys under prefix by d
	// clone returns a new client of the same server, which a test may add
	// hooks to; nil where that cannot be done.
	clone func(t *testing.T) redis.UniversalClient
}

// store returns an indexed store of the farm: cfg with Prefix, Now and
// Index filled in.
func (f *farm) store(cfg Config) *Store {
	cfg.Prefix, cfg.Now, cfg.Index = f.prefix, f.clock.Now, true
	return New(f.c, cfg)
}

// advance moves the stores' clock and the server's time forward by d.
func (f *farm) advance(d time.Duration) {
	f.clock.Advance(d)
	f.age(d)
}

// A farmOpener opens a fresh farm for a test.
type farmOpener func(t *testing.T) *farm

// onMiniredis opens a farm on a miniredis of the test's own.
func onMiniredis(t *testing.T) *farm {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return &farm{c: c, prefix: "session", clock: fakeclock.New(), age: m.FastForward, clone: cloner(c)}
}

// on returns a farmOpener that opens farms on c, each under a key prefix of
// its own.
func on(c redis.UniversalClient) farmOpener {
	return func(t *testing.T) *farm {
		prefix := redistest.Prefix(t)
		return &farm{c: c, prefix: prefix, clock: fakeclock.New(), age: func(d time.Duration) {
			redistest.Advance(t, c, prefix, d)
		}, clone: cloner(c)}
	}
}

// cloner returns a function that makes a new client of the server or
// Cluster c talks to, or nil for a client of a Sentinel, whose addresses it
// cannot learn from c.
func cloner(c redis.UniversalClient) func(t *testing.T) redis.UniversalClient {
	var open func() redis.UniversalClient
	switch c := c.(type) {
	case *redis.ClusterClient:
		open = func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Options().Addrs, ContextTimeoutEnabled: true})
		}
	case *redis.Client:
		if c.Options().Addr == "FailoverClient" {
			return nil
		}
		open = func() redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: c.Options().Addr, ContextTimeoutEnabled: true})
		}
	default:
		return nil
	}
	return func(t *testing.T) redis.UniversalClient {
		clone := open()
		t.Cleanup(func() { _ = clone.Close() })
		return clone
	}
}

func TestCapabilities(t *testing.T) {
	t.Run("on miniredis", func(t *testing.T) {
		testCapabilities(t, onMiniredis)
	})
	t.Run("on a real Redis", func(t *testing.T) {
		testCapabilities(t, on(redistest.Client(t)))
	})
}

// testCapabilities checks the Indexer, Expirer, Limiter and Notifier
// methods of stores on the farms that open returns.
func testCapabilities(t *testing.T, open farmOpener) {
	for _, tt := range []struct {
		name string
		test func(t *testing.T, f *farm)
	}{
		{"without the index the capabilities return ErrNotIndexed, and events still work", testNotIndexed},
		{"count counts live sessions only, of its application only", testCount},
		{"list lists each live session once, with its metadata, whatever happens between pages", testList},
		{"peek reads values and metadata without renewing", testPeek},
		{"remove deletes a live session and returns it, and leaves an expired one to its claimer", testRemove},
		{"a user's sessions are listed oldest first, through logins, renewals and changes of user", testUserSessions},
		{"a crash between the user's set and the session leaves a dangling entry, pruned later, never an unlisted session", testUserCrash},
		{"an expired session is gone for every call, though it is kept for its claimer", testExpiredGone},
		{"expired sessions are claimed once per lease, with their values, and reaped for good", testClaim},
		{"a session expired past the retention is handed out once without values", testClaimPastRetention},
		{"a logged-in session reaped past the retention leaves nothing in its user's set", testUserPastRetention},
		{"servers that claim at once hand each expiry to one of them", testClaimConcurrent},
		{"reserve counts exactly under concurrency, and ends, moves and reaps free their place", testReserve},
		{"a reservation never stored stops counting after the grace period", testReserveUnused},
		{"events reach the subscribers of the application only", testEvents},
		{"sessions stored without the index join it at their next touch", testAdoption},
		{"a logged-in session stored without the index joins its user's sessions at its next touch", testAdoptionUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, open(t))
		})
	}
}

// idIn returns a new random ID in the shard at index i of shardAlphabet.
func idIn(i int) string {
	return shardAlphabet[i%len(shardAlphabet):i%len(shardAlphabet)+1] + newID()[1:]
}

// mustCreate creates session id or fails the test.
func mustCreate(t *testing.T, s *Store, id string, values map[string][]byte, ttl time.Duration) {
	t.Helper()
	if err := s.Create(t.Context(), id, values, ttl, 0); err != nil {
		t.Fatalf("Create(%s): got error %v, want nil", id, err)
	}
}

// vals builds a value map from key, value pairs of strings.
func vals(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

// wantCount fails the test unless s counts want live sessions.
func wantCount(t *testing.T, s *Store, want int) {
	t.Helper()
	if got, err := s.Count(t.Context()); err != nil || got != want {
		t.Errorf("Count: got %v, %v, want %v, nil", got, err, want)
	}
}

// recordIDs returns the IDs of recs.
func recordIDs(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// exists reports whether key exists.
func exists(t *testing.T, c redis.UniversalClient, key string) bool {
	t.Helper()
	n, err := c.Exists(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: got error %v, want nil", key, err)
	}
	return n == 1
}

func testNotIndexed(t *testing.T, f *farm) {
	ctx := t.Context()
	s := New(f.c, Config{Prefix: f.prefix})
	if s.Indexed() {
		t.Errorf("Indexed without Config.Index: got true, want false")
	}
	if !f.store(Config{}).Indexed() {
		t.Errorf("Indexed with Config.Index: got false, want true")
	}
	calls := map[string]func() error{
		"Count":        func() error { _, err := s.Count(ctx); return err },
		"List":         func() error { _, _, err := s.List(ctx, "", 10); return err },
		"Peek":         func() error { _, _, err := s.Peek(ctx, "id"); return err },
		"Remove":       func() error { _, _, err := s.Remove(ctx, "id"); return err },
		"UserSessions": func() error { _, err := s.UserSessions(ctx, "ann"); return err },
		"ClaimExpired": func() error { _, err := s.ClaimExpired(ctx, 10, time.Minute); return err },
		"Reap":         func() error { return s.Reap(ctx, "id") },
		"Reserve":      func() error { _, err := s.Reserve(ctx, "id", 10); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("%s without Config.Index: got error %v, want %v", name, err, store.ErrNotIndexed)
		}
	}
	got := make(chan store.Event, 1)
	sub, cancel := context.WithCancel(ctx)
	done, err := s.Subscribe(sub, func(e store.Event) { got <- e })
	if err != nil {
		t.Fatalf("Subscribe without Config.Index: got error %v, want nil", err)
	}
	want := store.Event{Kind: store.Destroyed, ID: "id", User: "ann", Reason: "logout"}
	if err := s.Publish(ctx, want); err != nil {
		t.Fatalf("Publish without Config.Index: got error %v, want nil", err)
	}
	if e := <-got; e != want {
		t.Errorf("event: got %+v, want %+v", e, want)
	}
	cancel()
	<-done
}

func testCount(t *testing.T, f *farm) {
	s := f.store(Config{})
	other := f.store(Config{Application: "other"})
	wantCount(t, s, 0)
	var created []string
	for i := range 20 {
		id := idIn(i * 7)
		created = append(created, id)
		ttl := time.Hour
		if i < 3 {
			ttl = 10 * time.Minute
		}
		mustCreate(t, s, id, nil, ttl)
	}
	mustCreate(t, other, idIn(1), nil, time.Hour)
	wantCount(t, s, 20)
	if _, err := s.Delete(t.Context(), created[10]); err != nil {
		t.Fatalf("Delete: got error %v, want nil", err)
	}
	wantCount(t, s, 19)
	f.advance(20 * time.Minute)
	wantCount(t, s, 16) // three expired, kept for their claimer but not live
	wantCount(t, other, 1)
}

func testList(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	other := f.store(Config{Application: "other"})
	mustCreate(t, other, idIn(0), nil, time.Hour)
	start := f.clock.Now()
	want := map[string]bool{}
	for i := range 150 {
		id := idIn(i % 40 * 3) // 40 shards, some of them empty in between
		v := vals("n", strconv.Itoa(i))
		if i%10 == 0 {
			v[store.UserKey] = []byte("user" + strconv.Itoa(i))
			v[store.LabelKey] = []byte("label" + strconv.Itoa(i))
		}
		ttl := time.Hour
		if i%15 == 0 {
			ttl = 10 * time.Minute // expired by the listing: never listed
		} else {
			want[id] = true
		}
		mustCreate(t, s, id, v, ttl)
	}
	f.advance(20 * time.Minute)

	seen := map[string]int{}
	cursor, pages := "", 0
	for {
		page, next, err := s.List(ctx, cursor, 7)
		if err != nil {
			t.Fatalf("List(%q, 7): got error %v, want nil", cursor, err)
		}
		if len(page) > 7 {
			t.Fatalf("List(%q, 7): got %d sessions, want 7 at most", cursor, len(page))
		}
		for _, in := range page {
			seen[in.ID]++
			// Touch every listed session and the ones around it: their
			// expiry changes, their place in the listing must not.
			if _, err := s.Touch(ctx, in.ID, 2*time.Hour); err != nil {
				t.Fatalf("Touch: got error %v, want nil", err)
			}
			if !in.Created.Equal(start.Truncate(time.Millisecond)) {
				t.Errorf("List: %s created %v, want %v", in.ID, in.Created, start)
			}
			if want := start.Add(time.Hour).Truncate(time.Millisecond); !in.Expires.Equal(want) {
				t.Errorf("List: %s expires %v, want %v", in.ID, in.Expires, want)
			}
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(want) {
		t.Errorf("List: got %d sessions, want %d", len(seen), len(want))
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("List: got %s, which expired or is another application's", id)
		}
		if n != 1 {
			t.Errorf("List: got %s %d times, want once", id, n)
		}
	}
	if pages < 140/7 {
		t.Errorf("List: got %d pages, want %d or more", pages, 140/7)
	}

	t.Run("metadata", func(t *testing.T) {
		page, _, err := s.List(ctx, "", 200)
		if err != nil {
			t.Fatalf("List: got error %v, want nil", err)
		}
		users := 0
		for _, in := range page {
			if in.User != "" {
				users++
				if in.Label != "label"+in.User[len("user"):] {
					t.Errorf("List: %s has user %q and label %q, want label%s", in.ID, in.User, in.Label, in.User[len("user"):])
				}
			}
			if in.LastAccess.Before(start.Truncate(time.Millisecond)) || in.LastAccess.After(f.clock.Now()) {
				t.Errorf("List: %s last access %v, want between %v and %v", in.ID, in.LastAccess, start, f.clock.Now())
			}
		}
		if users != 10 { // i%10 == 0 and not i%15 == 0: 0, 30, 60, 90, 120 expired
			t.Errorf("List: got %d sessions with a user, want 10", users)
		}
	})
	t.Run("a bad cursor or limit is an error", func(t *testing.T) {
		if _, _, err := s.List(ctx, "!", 10); err == nil {
			t.Errorf("List(\"!\"): got no error, want one")
		}
		if _, _, err := s.List(ctx, "", 0); err == nil {
			t.Errorf("List(limit 0): got no error, want one")
		}
	})
	t.Run("an empty store lists nothing", func(t *testing.T) {
		page, next, err := f.store(Config{Application: "empty"}).List(ctx, "", 10)
		if err != nil || len(page) != 0 || next != "" {
			t.Errorf("List: got %v, %q, %v, want none, \"\", nil", page, next, err)
		}
	})
}

func testPeek(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	id := idIn(5)
	created := f.clock.Now()
	mustCreate(t, s, id, vals("a", "1", store.UserKey, "ann", store.LabelKey, "phone"), time.Hour)
	f.advance(10 * time.Minute)
	rec, found, err := s.Peek(ctx, id)
	if err != nil || !found {
		t.Fatalf("Peek: got %v, %v, want found", found, err)
	}
	if string(rec.Values["a"]) != "1" || string(rec.Values[store.UserKey]) != "ann" || len(rec.Values) != 3 {
		t.Errorf("Peek: got values %q, want a=1, @user=ann, @label=phone", rec.Values)
	}
	wantInfo := store.Info{
		ID: id, User: "ann", Label: "phone",
		Created:    created.Truncate(time.Millisecond),
		LastAccess: created.Truncate(time.Millisecond),
		Expires:    created.Add(time.Hour).Truncate(time.Millisecond),
	}
	if !sameInfo(rec.Info, wantInfo) {
		t.Errorf("Peek: got %+v, want %+v", rec.Info, wantInfo)
	}
	f.advance(55 * time.Minute) // Peek did not renew
	if _, found, err := s.Peek(ctx, id); err != nil || found {
		t.Errorf("Peek after the expiry: got %v, %v, want false, nil", found, err)
	}
	if _, found, err := s.Peek(ctx, idIn(6)); err != nil || found {
		t.Errorf("Peek of a missing session: got %v, %v, want false, nil", found, err)
	}
}

// sameInfo reports whether a and b say the same, times compared as instants.
func sameInfo(a, b store.Info) bool {
	return a.ID == b.ID && a.User == b.User && a.Label == b.Label &&
		a.Created.Equal(b.Created) && a.LastAccess.Equal(b.LastAccess) && a.Expires.Equal(b.Expires)
}

func testRemove(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	id, expiring := idIn(1), idIn(2)
	mustCreate(t, s, id, vals(store.UserKey, "ann"), time.Hour)
	mustCreate(t, s, expiring, vals(store.UserKey, "ann"), 10*time.Minute)
	f.advance(20 * time.Minute)

	info, found, err := s.Remove(ctx, id)
	if err != nil || !found || info.ID != id || info.User != "ann" {
		t.Errorf("Remove: got %+v, %v, %v, want %s of ann", info, found, err, id)
	}
	if _, found, _ := s.Load(ctx, id, 0); found {
		t.Errorf("Load after Remove: got found=true, want false")
	}
	if _, found, err := s.Remove(ctx, id); err != nil || found {
		t.Errorf("Remove again: got %v, %v, want false, nil", found, err)
	}
	if _, found, err := s.Remove(ctx, expiring); err != nil || found {
		t.Errorf("Remove of an expired session: got %v, %v, want false, nil", found, err)
	}
	if found, err := s.Delete(ctx, expiring); err != nil || found {
		t.Errorf("Delete of an expired session: got %v, %v, want false, nil", found, err)
	}
	recs, err := s.ClaimExpired(ctx, 10, time.Minute)
	if err != nil || len(recs) != 1 || recs[0].ID != expiring {
		t.Errorf("ClaimExpired after Remove and Delete of an expired session: got %v, %v, want it", recs, err)
	}
	if err := s.Reap(ctx, expiring); err != nil {
		t.Fatalf("Reap: got error %v, want nil", err)
	}
	if exists(t, f.c, s.userKey("ann")) {
		t.Errorf("EXISTS %s after its sessions were removed and reaped: got 1, want 0", s.userKey("ann"))
	}
}

func testUserSessions(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	user := "ann {x}:@user" // braces must not break the key's hash tag
	users := func(t *testing.T, user string) []string {
		t.Helper()
		infos, err := s.UserSessions(ctx, user)
		if err != nil {
			t.Fatalf("UserSessions(%q): got error %v, want nil", user, err)
		}
		for i := 1; i < len(infos); i++ {
			if infos[i].Created.Before(infos[i-1].Created) {
				t.Errorf("UserSessions(%q): %v before %v, want oldest first", user, infos[i-1].Created, infos[i].Created)
			}
		}
		out := make([]string, len(infos))
		for i, in := range infos {
			out[i] = in.ID
			if in.User != user {
				t.Errorf("UserSessions(%q): got %s of user %q", user, in.ID, in.User)
			}
		}
		return out
	}

	// A login on a new session: Create with the user.
	first := idIn(3)
	mustCreate(t, s, first, vals(store.UserKey, user, store.LabelKey, "laptop"), time.Hour)
	f.advance(time.Minute)
	// A login on an anonymous session: Move with the user.
	anon := idIn(4)
	mustCreate(t, s, anon, vals("cart", "1"), time.Hour)
	f.advance(time.Minute)
	second := renewedID(anon)
	if found, err := s.Move(ctx, anon, second, store.Delta{Set: vals(store.UserKey, user)}, time.Hour, 0); err != nil || !found {
		t.Fatalf("Move with a user: got %v, %v, want true, nil", found, err)
	}
	// A login through Update.
	third := idIn(5)
	mustCreate(t, s, third, nil, time.Hour)
	if found, err := s.Update(ctx, third, store.Delta{Set: vals(store.UserKey, user)}, time.Hour, 0); err != nil || !found {
		t.Fatalf("Update with a user: got %v, %v, want true, nil", found, err)
	}
	if got, want := users(t, user), []string{first, anon, third}; len(got) != 3 || got[0] != first || got[2] != third {
		// anon was created before third, and a Move keeps @created.
		t.Errorf("UserSessions: got %v, want %v with %s in the middle", got, want, second)
	} else if got[1] != second {
		t.Errorf("UserSessions: got %v, want the renewed ID %s in the middle", got, second)
	}

	t.Run("a renewal without the user keeps the renewed session listed", func(t *testing.T) {
		renewed := renewedID(second)
		if found, err := s.Move(ctx, second, renewed, store.Delta{Set: vals("x", "1")}, time.Hour, 0); err != nil || !found {
			t.Fatalf("Move without a user: got %v, %v, want true, nil", found, err)
		}
		if got := users(t, user); !slices.Contains(got, renewed) || slices.Contains(got, second) {
			t.Errorf("UserSessions after a renewal: got %v, want %s and not %s", got, renewed, second)
		}
		second = renewed
	})
	t.Run("a change of user moves the session to the new user's list", func(t *testing.T) {
		if found, err := s.Update(ctx, third, store.Delta{Set: vals(store.UserKey, "bob")}, time.Hour, 0); err != nil || !found {
			t.Fatalf("Update to another user: got %v, %v, want true, nil", found, err)
		}
		if got := users(t, "bob"); !slices.Equal(got, []string{third}) {
			t.Errorf("UserSessions(bob): got %v, want [%s]", got, third)
		}
		if got := users(t, user); slices.Contains(got, third) {
			t.Errorf("UserSessions(%q) after the change: got %v, want no %s", user, got, third)
		}
		if n, err := f.c.ZCard(ctx, s.userKey(user)).Result(); err != nil || n != 2 {
			t.Errorf("ZCARD of the old user's set: got %v, %v, want 2: its entry goes at once", n, err)
		}
	})
	t.Run("a Clear keeps the user; deleting the user takes the session off the list", func(t *testing.T) {
		if _, err := s.Update(ctx, third, store.Delta{Clear: true}, time.Hour, 0); err != nil {
			t.Fatalf("Update that clears: got error %v, want nil", err)
		}
		if got := users(t, "bob"); !slices.Equal(got, []string{third}) {
			t.Errorf("UserSessions(bob) after Clear: got %v, want [%s]", got, third)
		}
		if _, err := s.Update(ctx, third, store.Delta{Del: []string{store.UserKey}}, time.Hour, 0); err != nil {
			t.Fatalf("Update that deletes the user: got error %v, want nil", err)
		}
		if got := users(t, "bob"); len(got) != 0 {
			t.Errorf("UserSessions(bob) after deleting the user: got %v, want none", got)
		}
		if exists(t, f.c, s.userKey("bob")) {
			t.Errorf("EXISTS %s after its last session left: got 1, want 0", s.userKey("bob"))
		}
	})
	t.Run("ended sessions leave the list and the set, which goes with its last entry", func(t *testing.T) {
		if _, err := s.Delete(ctx, first); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
		if got := users(t, user); !slices.Equal(got, []string{second}) {
			t.Errorf("UserSessions after Delete: got %v, want [%s]", got, second)
		}
		if n, err := f.c.ZCard(ctx, s.userKey(user)).Result(); err != nil || n != 1 {
			t.Errorf("ZCARD of the user's set after Delete: got %v, %v, want 1", n, err)
		}
		if found, err := s.Touch(ctx, second, 0); err != nil || !found {
			t.Fatalf("Touch with a ttl of zero: got %v, %v, want true, nil", found, err)
		}
		if exists(t, f.c, s.userKey(user)) {
			t.Errorf("EXISTS %s after its last session ended: got 1, want 0", s.userKey(user))
		}
		if got, err := s.UserSessions(ctx, ""); err != nil || got != nil {
			t.Errorf("UserSessions(\"\"): got %v, %v, want none, nil", got, err)
		}
	})
	t.Run("the user's set is in a slot of its own, named by a digest", func(t *testing.T) {
		key := s.userKey(user)
		want := f.prefix + ":default:{default:@user:"
		if key[:len(want)] != want || key[len(key)-len(user):] != user {
			t.Errorf("userKey(%q): got %q, want %s<16 hex digits>}:%s", user, key, want, user)
		}
	})
}

// failScripts is a redis.Hook that fails the scripts of one kind before they
// are sent, as if the server crashed or the connection broke in between.
type failScripts struct {
	mu   sync.Mutex // protects sha
	sha  string     // the script to fail: its SHA-1
	sent []string   // names of the commands that went through
}

func (h *failScripts) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		fail := h.sha != "" && (cmd.Name() == "evalsha" || cmd.Name() == "eval") && scriptOf(cmd) == h.sha
		if !fail {
			h.sent = append(h.sent, cmd.Name())
		}
		h.mu.Unlock()
		if fail {
			err := errors.New("injected crash")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h *failScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// scriptOf returns the SHA-1 of the script an EVALSHA or EVAL sends.
func scriptOf(cmd redis.Cmder) string {
	args := cmd.Args()
	if len(args) < 2 {
		return ""
	}
	s, _ := args[1].(string)
	if cmd.Name() == "eval" {
		return redis.NewScript(s).Hash()
	}
	return s
}

func testUserCrash(t *testing.T, f *farm) {
	ctx := t.Context()
	if f.clone == nil {
		t.Skip("the crash is injected with a hook on a second client, which this test cannot make for a Sentinel's primary")
	}
	// A client of its own, so that the hook stays with this test.
	crashing := f.clone(t)
	hook := &failScripts{}
	crashing.AddHook(hook)
	s := New(crashing, Config{Prefix: f.prefix, Index: true, Now: f.clock.Now})
	// Cached scripts go as EVALSHA alone, which keeps the order of the
	// commands below free of NOSCRIPT fallbacks.
	for _, sc := range []*redis.Script{s.ix.create, s.ix.update, s.ix.move, s.ix.end} {
		if err := sc.Load(ctx, f.c).Err(); err != nil {
			t.Fatalf("SCRIPT LOAD: got error %v, want nil", err)
		}
	}

	for _, step := range []struct {
		name   string
		script *redis.Script
		write  func(id string) error
	}{
		{"create", s.ix.create, func(id string) error {
			return s.Create(ctx, id, vals(store.UserKey, "ann"), time.Hour, 0)
		}},
		{"move", s.ix.move, func(id string) error {
			from := renewedID(id)
			mustCreate(t, s, from, nil, time.Hour)
			_, err := s.Move(ctx, from, id, store.Delta{Set: vals(store.UserKey, "ann")}, time.Hour, 0)
			return err
		}},
		{"update", s.ix.update, func(id string) error {
			mustCreate(t, s, id, nil, time.Hour)
			_, err := s.Update(ctx, id, store.Delta{Set: vals(store.UserKey, "ann")}, time.Hour, 0)
			return err
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			id := idIn(9)
			hook.mu.Lock()
			hook.sha, hook.sent = step.script.Hash(), nil
			hook.mu.Unlock()
			if err := step.write(id); err == nil {
				t.Fatalf("%s with a crash before its script: got no error, want one", step.name)
			}
			hook.mu.Lock()
			hook.sha = ""
			sent := hook.sent
			hook.mu.Unlock()
			if !slices.Contains(sent, "zadd") {
				t.Fatalf("commands that went through before the crash: got %v, want the ZADD of the user's set", sent)
			}
			// The crash left an entry for id in ann's set, and no session
			// with ann as its user.
			if _, err := f.c.ZScore(ctx, s.userKey("ann"), id).Result(); err != nil {
				t.Fatalf("ZSCORE of %s in ann's set: got error %v, want the dangling entry", id, err)
			}
			if got, err := s.UserSessions(ctx, "ann"); err != nil || len(got) != 0 {
				t.Errorf("UserSessions(ann) after the crash: got %v, %v, want none", got, err)
			}
			// Young, the entry may be a session being stored: it stays.
			if _, err := f.c.ZScore(ctx, s.userKey("ann"), id).Result(); err != nil {
				t.Errorf("ZSCORE of %s within the grace period: got error %v, want the entry kept", id, err)
			}
			f.advance(2 * time.Minute)
			if got, err := s.UserSessions(ctx, "ann"); err != nil || len(got) != 0 {
				t.Errorf("UserSessions(ann) after the grace period: got %v, %v, want none", got, err)
			}
			if exists(t, f.c, s.userKey("ann")) {
				t.Errorf("EXISTS %s: got 1, want 0: the dangling entry was pruned and the set with it", s.userKey("ann"))
			}
		})
	}

	t.Run("every step that gives a session a user writes the user's set first", func(t *testing.T) {
		// Whichever step a crash interrupts, what it leaves is the case
		// above: an entry without its session, never the reverse.
		hook.mu.Lock()
		hook.sent = nil
		hook.mu.Unlock()
		id := idIn(10)
		if err := s.Create(ctx, id, vals(store.UserKey, "bob"), time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		to := renewedID(id)
		if _, err := s.Move(ctx, id, to, store.Delta{}, time.Hour, 0); err != nil {
			t.Fatalf("Move: got error %v, want nil", err)
		}
		hook.mu.Lock()
		sent := hook.sent
		hook.mu.Unlock()
		// Create: ZADD, then its script. Move without the user: the
		// script refuses (the user's set lacks the new ID), ZADD, the
		// script again, then the old ID's entries go.
		want := []string{"zadd", "evalsha", "evalsha", "zadd", "evalsha"}
		if len(sent) < len(want) || !slices.Equal(sent[:len(want)], want) {
			t.Errorf("commands: got %v, want %v first", sent, want)
		}
		if got, err := s.UserSessions(ctx, "bob"); err != nil || len(got) != 1 || got[0].ID != to {
			t.Errorf("UserSessions(bob): got %v, %v, want [%s]", got, err, to)
		}
	})
}

func testExpiredGone(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	id := idIn(11)
	mustCreate(t, s, id, vals("a", "1"), 10*time.Minute)
	f.advance(11 * time.Minute)
	if _, found, err := s.Load(ctx, id, time.Hour); err != nil || found {
		t.Errorf("Load with a ttl: got %v, %v, want false, nil", found, err)
	}
	if found, err := s.Touch(ctx, id, time.Hour); err != nil || found {
		t.Errorf("Touch: got %v, %v, want false, nil", found, err)
	}
	if found, err := s.Update(ctx, id, store.Delta{Set: vals("b", "2")}, time.Hour, 5); err != nil || found {
		t.Errorf("Update: got %v, %v, want false, nil", found, err)
	}
	if found, err := s.Move(ctx, id, renewedID(id), store.Delta{}, time.Hour, 0); err != nil || found {
		t.Errorf("Move: got %v, %v, want false, nil", found, err)
	}
	if err := s.Create(ctx, id, nil, time.Hour, 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create over an expired session: got error %v, want %v: the ID is taken until reaped", err, store.ErrExists)
	}
	if err := s.Reap(ctx, idIn(12)); err != nil {
		t.Errorf("Reap of a session never stored: got error %v, want nil", err)
	}
	recs, err := s.ClaimExpired(ctx, 10, time.Minute)
	if err != nil || len(recs) != 1 || string(recs[0].Values["a"]) != "1" || recs[0].Values["b"] != nil {
		t.Fatalf("ClaimExpired: got %v, %v, want %s unchanged since it expired", recs, err, id)
	}
	// The key lives on for the retention.
	if pttl, err := f.c.PTTL(ctx, s.key(id)).Result(); err != nil || pttl < 45*time.Minute {
		t.Errorf("PTTL of the expired session: got %v, %v, want about 49m (retention 1h from its expiry)", pttl, err)
	}
}

func testClaim(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	live := idIn(20)
	mustCreate(t, s, live, nil, 2*time.Hour)
	var expiring []string
	for i := range 30 {
		id := idIn(i * 5)
		expiring = append(expiring, id)
		v := vals("n", strconv.Itoa(i))
		if i == 0 {
			v[store.UserKey] = []byte("ann")
		}
		mustCreate(t, s, id, v, time.Hour)
	}
	if ok, err := s.Reserve(ctx, expiring[0], 0); err != nil || !ok {
		t.Fatalf("Reserve: got %v, %v, want true, nil", ok, err)
	}
	if recs, err := s.ClaimExpired(ctx, 100, time.Minute); err != nil || len(recs) != 0 {
		t.Errorf("ClaimExpired before any expiry: got %v, %v, want none", recs, err)
	}
	f.advance(61 * time.Minute)

	claimed := map[string]store.Record{}
	for range 5 {
		recs, err := s.ClaimExpired(ctx, 7, 10*time.Minute)
		if err != nil {
			t.Fatalf("ClaimExpired: got error %v, want nil", err)
		}
		if len(recs) > 7 {
			t.Errorf("ClaimExpired(7): got %d, want 7 at most", len(recs))
		}
		for _, r := range recs {
			if _, dup := claimed[r.ID]; dup {
				t.Errorf("ClaimExpired: got %s twice while its claim holds", r.ID)
			}
			claimed[r.ID] = r
		}
	}
	if len(claimed) != 30 {
		t.Fatalf("ClaimExpired, five times 7: got %d sessions, want all 30", len(claimed))
	}
	for i, id := range expiring {
		r := claimed[id]
		if string(r.Values["n"]) != strconv.Itoa(i) {
			t.Errorf("claimed %s: got values %q, want n=%d", id, r.Values, i)
		}
		if r.Expires.IsZero() || r.Created.IsZero() || r.Expires.After(f.clock.Now()) {
			t.Errorf("claimed %s: got %+v, want its creation and its expiry, which has passed", id, r.Info)
		}
	}
	if claimed[expiring[0]].User != "ann" {
		t.Errorf("claimed %s: got user %q, want ann", expiring[0], claimed[expiring[0]].User)
	}
	if recs, err := s.ClaimExpired(ctx, 100, 10*time.Minute); err != nil || len(recs) != 0 {
		t.Errorf("ClaimExpired while every claim holds: got %d, %v, want none", len(recs), err)
	}

	// The claimer of the first ten handles them; the others' lease ends.
	if err := s.Reap(ctx, append(expiring[:10:10], live)...); err != nil {
		t.Fatalf("Reap: got error %v, want nil", err)
	}
	if _, found, err := s.Load(ctx, live, 0); err != nil || !found {
		t.Errorf("Load of a live session after Reap named it: got %v, %v, want true, nil", found, err)
	}
	f.advance(11 * time.Minute)
	recs, err := s.ClaimExpired(ctx, 100, 10*time.Minute)
	if err != nil || len(recs) != 20 {
		t.Fatalf("ClaimExpired after the lease: got %d, %v, want the 20 not reaped", len(recs), err)
	}
	for _, r := range recs {
		if slices.Contains(expiring[:10], r.ID) {
			t.Errorf("ClaimExpired after Reap: got %s, which was reaped", r.ID)
		}
	}
	if err := s.Reap(ctx, expiring...); err != nil {
		t.Fatalf("Reap: got error %v, want nil", err)
	}
	if err := s.Reap(ctx, expiring...); err != nil {
		t.Errorf("Reap again: got error %v, want nil", err)
	}
	for _, id := range expiring {
		c := shard(id)
		if exists(t, f.c, s.key(id)) {
			t.Errorf("EXISTS %s after Reap: got 1, want 0", s.key(id))
		}
		for _, name := range []string{"@expiries", "@claims", "@ids"} {
			if _, err := f.c.ZScore(ctx, s.shardKey(c, name), id).Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("ZSCORE %s %s after Reap: got error %v, want redis.Nil", name, id, err)
			}
		}
	}
	if _, err := f.c.ZScore(ctx, s.liveKey(), expiring[0]).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("ZSCORE @live after Reap: got error %v, want redis.Nil", err)
	}
	if exists(t, f.c, s.userKey("ann")) {
		t.Errorf("EXISTS %s after its session was reaped: got 1, want 0", s.userKey("ann"))
	}
	wantCount(t, s, 1) // live, which expires after two hours
}

func testClaimPastRetention(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{Retention: 30 * time.Minute})
	id := idIn(30)
	mustCreate(t, s, id, vals("a", "1"), time.Hour)
	f.advance(time.Hour + 31*time.Minute)
	if exists(t, f.c, s.key(id)) {
		t.Fatalf("EXISTS %s past the retention: got 1, want 0", s.key(id))
	}
	recs, err := s.ClaimExpired(ctx, 10, time.Minute)
	if err != nil || len(recs) != 1 || recs[0].ID != id || recs[0].Values != nil {
		t.Fatalf("ClaimExpired: got %+v, %v, want %s without values", recs, err, id)
	}
	f.advance(2 * time.Minute)
	if recs, err := s.ClaimExpired(ctx, 10, time.Minute); err != nil || len(recs) != 0 {
		t.Errorf("ClaimExpired again: got %+v, %v, want none: it was forgotten", recs, err)
	}
	for _, name := range []string{"@expiries", "@claims", "@ids"} {
		if exists(t, f.c, s.shardKey(shard(id), name)) {
			t.Errorf("EXISTS %s: got 1, want 0", s.shardKey(shard(id), name))
		}
	}
}

// testUserPastRetention: the per-user index must not grow with sessions
// that are gone (issue 9: "entries go away with their session; memory stays
// bounded under churn"). A session whose expiry is reaped after its hash
// has gone (the farm was down longer than the retention) is handed out
// without values, and its user is unknown then: its entry stays in the
// user's set, which has no time to live, for good unless that user's
// sessions are read again, which for a user who never comes back is never.
func testUserPastRetention(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{Retention: 30 * time.Minute})
	id := idIn(31)
	mustCreate(t, s, id, vals(store.UserKey, "ann", "a", "1"), time.Hour)
	f.advance(time.Hour + 31*time.Minute)
	recs, err := s.ClaimExpired(ctx, 10, time.Minute)
	if err != nil || len(recs) != 1 || recs[0].Values != nil {
		t.Fatalf("ClaimExpired: got %+v, %v, want %s without values", recs, err, id)
	}
	if err := s.Reap(ctx, id); err != nil {
		t.Fatal(err)
	}
	if exists(t, f.c, s.userKey("ann")) {
		n, _ := f.c.ZCard(ctx, s.userKey("ann")).Result()
		t.Errorf("EXISTS %s after ann's only session was reaped: got 1 (%d entries), want 0", s.userKey("ann"), n)
	}
}

func testClaimConcurrent(t *testing.T, f *farm) {
	ctx := t.Context()
	const servers, sessions = 3, 120
	stores := make([]*Store, servers)
	for i := range stores {
		stores[i] = f.store(Config{})
	}
	for i := range sessions {
		mustCreate(t, stores[i%servers], idIn(i), nil, time.Hour)
	}
	f.advance(61 * time.Minute)
	var (
		mu     sync.Mutex
		got    = map[string]int{}
		counts [servers]int
		wg     sync.WaitGroup
	)
	for i, s := range stores {
		wg.Go(func() {
			for {
				recs, err := s.ClaimExpired(ctx, 10, time.Hour)
				if err != nil {
					t.Errorf("ClaimExpired: got error %v, want nil", err)
					return
				}
				if len(recs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range recs {
					got[r.ID]++
				}
				counts[i] += len(recs)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != sessions {
		t.Errorf("sessions claimed: got %d, want %d", len(got), sessions)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s claimed %d times, want once", id, n)
		}
	}
	t.Logf("claims per server: %v", counts)
}

func testReserve(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	const max = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		reserved []string
	)
	for i := range 40 {
		wg.Go(func() {
			id := idIn(i)
			ok, err := s.Reserve(ctx, id, max)
			if err != nil {
				t.Errorf("Reserve: got error %v, want nil", err)
				return
			}
			if ok {
				mu.Lock()
				reserved = append(reserved, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(reserved) != max {
		t.Fatalf("concurrent Reserve(max %d): got %d counted, want exactly %d", max, len(reserved), max)
	}
	for _, id := range reserved {
		mustCreate(t, s, id, nil, time.Hour)
	}
	if ok, err := s.Reserve(ctx, idIn(50), max); err != nil || ok {
		t.Errorf("Reserve at the limit: got %v, %v, want false, nil", ok, err)
	}
	if ok, err := s.Reserve(ctx, reserved[0], max); err != nil || !ok {
		t.Errorf("Reserve of an ID counted already: got %v, %v, want true, nil", ok, err)
	}
	if _, err := s.Reserve(ctx, idIn(50), -1); err == nil {
		t.Errorf("Reserve(max -1): got no error, want one")
	}
	free := func(t *testing.T, what string) {
		t.Helper()
		id := idIn(60)
		if ok, err := s.Reserve(ctx, id, max); err != nil || !ok {
			t.Fatalf("Reserve after %s: got %v, %v, want true, nil", what, ok, err)
		}
		mustCreate(t, s, id, nil, time.Hour)
		reserved = append(reserved, id)
	}

	if _, err := s.Delete(ctx, reserved[0]); err != nil {
		t.Fatalf("Delete: got error %v, want nil", err)
	}
	free(t, "Delete")
	if _, _, err := s.Remove(ctx, reserved[1]); err != nil {
		t.Fatalf("Remove: got error %v, want nil", err)
	}
	free(t, "Remove")

	// A renewal counts the new ID without a limit and frees the old.
	to := renewedID(reserved[2])
	if ok, err := s.Reserve(ctx, to, 0); err != nil || !ok {
		t.Fatalf("Reserve(max 0) at the limit: got %v, %v, want true, nil", ok, err)
	}
	if found, err := s.Move(ctx, reserved[2], to, store.Delta{}, time.Hour, 0); err != nil || !found {
		t.Fatalf("Move: got %v, %v, want true, nil", found, err)
	}
	if ok, err := s.Reserve(ctx, idIn(61), max); err != nil || ok {
		t.Errorf("Reserve after a Move: got %v, %v, want false: the place of the old ID went to the new", ok, err)
	}
	if n, err := f.c.ZCard(ctx, s.liveKey()).Result(); err != nil || n != max {
		t.Errorf("ZCARD @live: got %v, %v, want %d", n, err, max)
	}

	// Expired sessions count until reaped.
	f.advance(61 * time.Minute)
	if ok, err := s.Reserve(ctx, idIn(62), max); err != nil || ok {
		t.Errorf("Reserve with the sessions expired but not reaped: got %v, %v, want false", ok, err)
	}
	recs, err := s.ClaimExpired(ctx, 100, time.Minute)
	if err != nil || len(recs) != max {
		t.Fatalf("ClaimExpired: got %d, %v, want %d", len(recs), err, max)
	}
	if err := s.Reap(ctx, recordIDs(recs)...); err != nil {
		t.Fatalf("Reap: got error %v, want nil", err)
	}
	if n, err := f.c.ZCard(ctx, s.liveKey()).Result(); err != nil || n != 0 {
		t.Errorf("ZCARD @live after Reap: got %v, %v, want 0", n, err)
	}
}

func testReserveUnused(t *testing.T, f *farm) {
	ctx := t.Context()
	s := f.store(Config{})
	stored, unused := idIn(1), idIn(2)
	for _, id := range []string{stored, unused} {
		if ok, err := s.Reserve(ctx, id, 2); err != nil || !ok {
			t.Fatalf("Reserve: got %v, %v, want true, nil", ok, err)
		}
	}
	mustCreate(t, s, stored, nil, time.Hour)
	if ok, err := s.Reserve(ctx, idIn(3), 2); err != nil || ok {
		t.Fatalf("Reserve at the limit: got %v, %v, want false, nil", ok, err)
	}
	// Within the grace period the unused reservation may be a session
	// about to be stored: it counts, whoever checks.
	if _, err := s.ClaimExpired(ctx, 10, time.Minute); err != nil {
		t.Fatalf("ClaimExpired: got error %v, want nil", err)
	}
	if ok, err := s.Reserve(ctx, idIn(3), 2); err != nil || ok {
		t.Errorf("Reserve within the grace period: got %v, %v, want false", ok, err)
	}
	f.advance(2 * time.Minute)

	t.Run("ClaimExpired drops it, and keeps the stored session's entry until its expiry", func(t *testing.T) {
		if _, err := s.ClaimExpired(ctx, 10, time.Minute); err != nil {
			t.Fatalf("ClaimExpired: got error %v, want nil", err)
		}
		if _, err := f.c.ZScore(ctx, s.liveKey(), unused).Result(); !errors.Is(err, redis.Nil) {
			t.Errorf("ZSCORE @live of the unused reservation after the check: got error %v, want redis.Nil", err)
		}
		score, err := f.c.ZScore(ctx, s.liveKey(), stored).Result()
		if err != nil {
			t.Fatalf("ZSCORE @live of the stored session after the check: got error %v, want it kept", err)
		}
		if want := float64(f.clock.Now().Add(58 * time.Minute).UnixMilli()); score != want {
			t.Errorf("ZSCORE @live of the stored session: got %v, want %v, its expiry", score, want)
		}
	})
	t.Run("a Reserve at the limit drops it, without a reaper", func(t *testing.T) {
		unused := idIn(4)
		if ok, err := s.Reserve(ctx, unused, 2); err != nil || !ok {
			t.Fatalf("Reserve: got %v, %v, want true, nil", ok, err)
		}
		f.advance(2 * time.Minute)
		if ok, err := s.Reserve(ctx, idIn(5), 2); err != nil || !ok {
			t.Errorf("Reserve at the limit, the unused reservation past its grace: got %v, %v, want true, nil", ok, err)
		}
		if ok, err := s.Reserve(ctx, idIn(6), 2); err != nil || ok {
			t.Errorf("Reserve at the limit again: got %v, %v, want false, nil", ok, err)
		}
	})
}

func testEvents(t *testing.T, f *farm) {
	ctx := t.Context()
	a1, a2 := f.store(Config{}), f.store(Config{})
	other := f.store(Config{Application: "other"})
	type heard struct {
		by string
		e  store.Event
	}
	got := make(chan heard, 10)
	sub, cancel := context.WithCancel(ctx)
	var dones []<-chan struct{}
	for name, s := range map[string]*Store{"a1": a1, "a2": a2, "other": other} {
		done, err := s.Subscribe(sub, func(e store.Event) { got <- heard{name, e} })
		if err != nil {
			t.Fatalf("Subscribe: got error %v, want nil", err)
		}
		dones = append(dones, done)
	}
	want := store.Event{Kind: store.Expired, ID: idIn(4), User: "ann"}
	if err := a1.Publish(ctx, want); err != nil {
		t.Fatalf("Publish: got error %v, want nil", err)
	}
	// A marker from the other application: once it is heard, anything
	// a1's event would have brought to it has arrived.
	marker := store.Event{Kind: store.Destroyed, ID: "marker", Reason: "admin"}
	if err := other.Publish(ctx, marker); err != nil {
		t.Fatalf("Publish: got error %v, want nil", err)
	}
	heardBy := map[string][]store.Event{}
	for range 3 {
		h := <-got
		heardBy[h.by] = append(heardBy[h.by], h.e)
	}
	for _, by := range []string{"a1", "a2"} {
		if len(heardBy[by]) != 1 || heardBy[by][0] != want {
			t.Errorf("events heard by %s: got %+v, want [%+v]", by, heardBy[by], want)
		}
	}
	if len(heardBy["other"]) != 1 || heardBy["other"][0] != marker {
		t.Errorf("events heard by the other application: got %+v, want only its own %+v", heardBy["other"], marker)
	}
	// A message that is not an event is skipped.
	if err := f.c.Publish(ctx, a1.channel(), "not json").Err(); err != nil {
		t.Fatalf("PUBLISH: got error %v, want nil", err)
	}
	cancel()
	for _, done := range dones {
		<-done
	}
	select {
	case h := <-got:
		t.Errorf("after the subscriptions ended: got %+v, want nothing", h)
	default:
	}
}

func testAdoption(t *testing.T, f *farm) {
	ctx := t.Context()
	plain := New(f.c, Config{Prefix: f.prefix})
	touched, untouched := idIn(1), idIn(2)
	for _, id := range []string{touched, untouched} {
		if err := plain.Create(ctx, id, vals("a", "1", store.UserKey, "ann"), time.Hour, 0); err != nil {
			t.Fatalf("Create without the index: got error %v, want nil", err)
		}
	}
	s := f.store(Config{})
	for _, id := range []string{touched, untouched} {
		if got, found, err := s.Load(ctx, id, 0); err != nil || !found || string(got["a"]) != "1" {
			t.Errorf("Load with the index of a session stored without: got %q, %v, %v, want a=1", got, found, err)
		}
	}
	wantCount(t, s, 0)
	if found, err := s.Update(ctx, touched, store.Delta{Set: vals("b", "2")}, time.Hour, 3); err != nil || !found {
		t.Fatalf("Update with MaxKeys 3 of a session with two values: got %v, %v, want true, nil", found, err)
	}
	wantCount(t, s, 1)
	if page, _, err := s.List(ctx, "", 10); err != nil || len(page) != 1 || page[0].ID != touched {
		t.Errorf("List: got %v, %v, want [%s]", page, err, touched)
	}
	f.advance(61 * time.Minute)
	recs, err := s.ClaimExpired(ctx, 10, time.Minute)
	if err != nil || len(recs) != 1 || recs[0].ID != touched {
		t.Errorf("ClaimExpired: got %v, %v, want [%s]", recs, err, touched)
	}
	if _, found, err := s.Load(ctx, untouched, 0); err != nil || found {
		t.Errorf("Load of the untouched session after its key expired: got %v, %v, want false, nil", found, err)
	}
}

// testAdoptionUser: the README says "Switching Index on keeps existing
// sessions; each joins the index at its next write or touch", and
// UserSessions "never misses" a live session whose '@user' is the user
// (store.Indexer). A session that was logged in before the switch joins
// the expiry index and the listing at its next write, but never its
// user's set: "log out everywhere" and MaxUserSessions miss it for as long
// as it lives.
func testAdoptionUser(t *testing.T, f *farm) {
	ctx := t.Context()
	plain := New(f.c, Config{Prefix: f.prefix})
	id := idIn(3)
	if err := plain.Create(ctx, id, vals("a", "1", store.UserKey, "ann"), time.Hour, 0); err != nil {
		t.Fatalf("Create without the index: got error %v, want nil", err)
	}
	s := f.store(Config{})
	if found, err := s.Update(ctx, id, store.Delta{Set: vals("b", "2")}, time.Hour, 0); err != nil || !found {
		t.Fatalf("Update with the index: got %v, %v, want true, nil", found, err)
	}
	if _, err := s.Touch(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, 1)
	if got, err := s.UserSessions(ctx, "ann"); err != nil || len(got) != 1 {
		t.Errorf("UserSessions(ann) of ann's live session, written and touched since the index was switched on: got %v, %v, want it", got, err)
	}
}
