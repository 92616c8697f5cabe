package memstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// SweepInterval is how often the background sweeper removes the
	// sessions that expired longer ago than Retention. Expired sessions
	// are never returned by Load and the other calls of store.Store in
	// between; the sweep only bounds the memory they hold. Default: 1
	// minute.
	SweepInterval time.Duration
	// Retention is how long an expired session's values are kept for a
	// claimer (store.Expirer: the middleware's OnExpired hook gets them),
	// counted from its expiry. Memory holds every session that expired
	// within Retention, reaped or not yet; a program that never claims
	// expired sessions may set it as low as a nanosecond. Default: 1 hour.
	Retention time.Duration
	// Now returns the current time; tests set it to a fake clock.
	// Default: time.Now.
	Now func() time.Time
}

// numShards is the number of independently locked parts of the map, so that
// requests for different sessions rarely wait for each other.
const numShards = 32

// Store keeps sessions in memory. It implements store.Store and, in this
// process, every optional capability: store.Lender, store.Indexer (always
// indexed), store.Expirer, store.Limiter and store.Notifier. It is safe for
// concurrent use. Call Close to stop its sweeper when done with it.
type Store struct {
	now       func() time.Time
	retention time.Duration
	shards    [numShards]shard

	// stored counts the entries of all shards, live or expired, for
	// Reserve; pending holds the reservations not stored yet.
	stored  atomic.Int64
	pending reservations

	subs       subscribers
	claimStart atomic.Uint32 // spreads ClaimExpired's start over the shards

	stop      chan struct{} // closed by Close to stop the sweeper
	done      chan struct{} // closed by the sweeper when it returns
	closeOnce sync.Once
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Nonblocking = (*Store)(nil)
	_ store.Lender      = (*Store)(nil)
	_ store.Indexer     = (*Store)(nil)
	_ store.Expirer     = (*Store)(nil)
	_ store.Limiter     = (*Store)(nil)
	_ store.Notifier    = (*Store)(nil)
)

// Nonblocking tells the middleware that calls never wait: it needs no
// per-call timeout.
func (s *Store) Nonblocking() {}

// shard is one part of the map, with the index by user of its sessions. A
// session and its index entry are in the same shard, changed under the same
// lock: Move, which holds the locks of both shards it touches, moves both.
type shard struct {
	mu      sync.Mutex        // protects entries, users and the entries' fields
	entries map[string]*entry // by session ID, live or expired until forgotten
	// users holds, for each user, the IDs of the entries whose user it
	// is; nil until a session of this shard has one.
	users map[string]map[string]struct{}
}

// entry is one session. Times are in Unix nanoseconds, except expires,
// whose monotonic reading keeps expiry right when the wall clock is set.
// There is one per session, so it stays small: 64 bytes (and 32 for its
// values), indexed in what would be padding, the user looked up in values
// rather than kept twice.
type entry struct {
	values  *values // never changed, only replaced: Lend hands them out
	expires time.Time
	created int64 // when Create stored it
	access  int64 // when its time to live was last set
	claim   int64 // when the lease of a claim on it ends; 0: never claimed
	// indexed is whether values[store.UserKey] is set and not empty, and
	// so indexed in shard.users: the request path looks the user up only
	// for such sessions.
	indexed bool
}

// user returns the user e belongs to; nil for none.
func (e *entry) user() []byte {
	if !e.indexed {
		return nil
	}
	user, _ := e.values.Get(store.UserKey)
	return user
}

// New returns an empty Store and starts its sweeper. It panics if
// cfg.SweepInterval or cfg.Retention is negative.
func New(cfg Config) *Store {
	if cfg.SweepInterval < 0 {
		panic(fmt.Sprintf("memstore: negative SweepInterval %v", cfg.SweepInterval))
	}
	if cfg.Retention < 0 {
		panic(fmt.Sprintf("memstore: negative Retention %v", cfg.Retention))
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.Retention == 0 {
		cfg.Retention = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		now:       cfg.Now,
		retention: cfg.Retention,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for i := range s.shards {
		s.shards[i].entries = make(map[string]*entry)
	}
	go s.sweep(cfg.SweepInterval)
	return s
}

// sweep calls Sweep every interval until Close.
func (s *Store) sweep(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			s.Sweep()
		case <-s.stop:
			return
		}
	}
}

// Close stops the sweeper and waits for it to return. The Store keeps
// working; expired sessions are then only removed when reaped, accessed past
// their retention, or by Sweep. Subscriptions (Subscribe) end with their
// context, not with Close. Close always returns nil, and may be called more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// Sweep removes every session that expired longer ago than Retention now,
// claimed or not, so that no claim returns it any more. The sweeper calls
// it every SweepInterval.
func (s *Store) Sweep() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id, e := range sh.entries {
			if s.forgotten(e, now) {
				s.drop(sh, id, e)
			}
		}
		sh.mu.Unlock()
	}
}

// Len returns the number of sessions that have not expired.
func (s *Store) Len() int {
	now := s.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.entries {
			if !e.expired(now) {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// shard returns the shard that holds id.
func (s *Store) shard(id string) *shard {
	return &s.shards[shardOf(id)]
}

// shardOf returns the index of the shard that holds id, chosen by an FNV-1a
// hash.
func shardOf(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % numShards)
}

// live returns the unexpired entry for id. An expired one stays for its
// claimer, until it is forgotten: then live removes it. The caller holds
// sh.mu.
func (s *Store) live(sh *shard, id string, now time.Time) (*entry, bool) {
	e, ok := sh.entries[id]
	if !ok {
		return nil, false
	}
	if e.expired(now) {
		if s.forgotten(e, now) {
			s.drop(sh, id, e)
		}
		return nil, false
	}
	return e, true
}

// inUse reports whether id is taken, by a live session or by an expired one
// kept for its claimer, removing a forgotten one. The caller holds sh.mu.
func (s *Store) inUse(sh *shard, id string, now time.Time) bool {
	e, ok := sh.entries[id]
	if ok && s.forgotten(e, now) {
		s.drop(sh, id, e)
		return false
	}
	return ok
}

// expired reports whether e has expired at now. A session lives for exactly
// its ttl: it has expired once now reaches its expiry. A claimed session
// has expired for good, whatever now is: its claimer's clock said so, and a
// request that read the clock a moment earlier must not bring it back
// while OnExpired has its values.
func (e *entry) expired(now time.Time) bool {
	return e.claim != 0 || !now.Before(e.expires)
}

// forgotten reports whether e expired longer ago than the retention at now:
// no claimer gets its values any more.
func (s *Store) forgotten(e *entry, now time.Time) bool {
	return !now.Before(e.expires.Add(s.retention))
}

// drop removes entry e of session id from sh, and from what indexes and
// counts it. The caller holds sh.mu.
func (s *Store) drop(sh *shard, id string, e *entry) {
	delete(sh.entries, id)
	sh.unindex(id, e.user())
	s.stored.Add(-1)
}

// add stores e under id in sh, indexes it and counts it. The caller holds
// sh.mu.
func (s *Store) add(sh *shard, id string, e *entry) {
	sh.entries[id] = e
	sh.index(id, e.user())
	s.reserved(id, 1)
}

// Load returns a copy of the values of session id, and sets its time to live
// to ttl if ttl is greater than zero.
func (s *Store) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	v, found, err := s.lend(ctx, id, ttl)
	if !found {
		return nil, found, err
	}
	return v.clone(), true, nil
}

// Lend returns the values of session id as they are, without copying them,
// and sets its time to live to ttl if ttl is greater than zero. Values
// are never changed once stored, only replaced: what Lend returns stays as
// it was whatever happens to the session after.
func (s *Store) Lend(ctx context.Context, id string, ttl time.Duration) (store.View, bool, error) {
	v, found, err := s.lend(ctx, id, ttl)
	if !found {
		return nil, found, err // a nil View, not one holding a nil *values
	}
	return v, true, nil
}

// lend returns the values of session id, for Load and Lend.
func (s *Store) lend(ctx context.Context, id string, ttl time.Duration) (*values, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := s.live(sh, id, now)
	if !ok {
		return nil, false, nil
	}
	if ttl > 0 {
		e.expires, e.access = now.Add(ttl), now.UnixNano()
	}
	return e.values, true, nil
}

// Create stores a new session with a copy of values, expiring after ttl. A
// ttl of zero or less creates a session that has already expired, so nothing
// is stored. The ID of an expired session that is kept for its claimer is
// in use: ErrExists.
func (s *Store) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if maxKeys > 0 && len(values) > maxKeys {
		return store.ErrTooManyKeys
	}
	now := s.now()
	at := now.UnixNano()
	e := &entry{expires: now.Add(ttl), created: at, access: at}
	e.values, e.indexed = newValues(values)
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.inUse(sh, id, now) {
		return store.ErrExists
	}
	if ttl > 0 {
		s.add(sh, id, e)
	}
	return nil
}

// Update applies d to session id and sets its time to live to ttl. A ttl of
// zero or less ends the session.
func (s *Store) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	_, found, err := s.Apply(ctx, id, d, ttl, maxKeys)
	return found, err
}

// Apply applies d to session id, Add and Take included, and sets its time to
// live to ttl, all under the shard's lock; it returns the sums and the
// values taken. A ttl of zero or less ends the session.
func (s *Store) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (values map[string][]byte, found bool, err error) {
	found, err = s.renew(ctx, id, ttl, func(sh *shard, e *entry) error {
		sums, err := sums(e.values, &d)
		if err != nil {
			return err
		}
		if maxKeys > 0 && keysAfter(e.values, &d, maxKeys) > maxKeys {
			return store.ErrTooManyKeys
		}
		if !changes(e.values, &d) {
			return nil // nothing to copy: the values stay as lent
		}
		vals := e.values.thaw(added(e.values, &d))
		old, changed := apply(vals, &d)
		values = addAndTake(vals, sums, d.Take)
		e.values = vals
		if changed {
			sh.reindex(id, e, old)
		}
		return nil
	})
	return values, found, err
}

// sums returns what each key of d.Add will hold once Clear, Del and Set are
// applied and the number added, in decimal, before anything is written: an
// Add that fails leaves the session as it was.
func sums(vals *values, d *store.Delta) (map[string][]byte, error) {
	if len(d.Add) == 0 {
		return nil, nil
	}
	out := make(map[string][]byte, len(d.Add)+len(d.Take))
	for k, n := range d.Add {
		cur, set := d.Set[k]
		if set && cur == nil {
			cur = []byte{} // stored as an empty value, which is no integer
		}
		if !set && !d.Clear && !slices.Contains(d.Del, k) {
			cur, _ = vals.Get(k)
		}
		sum, err := store.AddInt(cur, n)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", err, k)
		}
		out[k] = strconv.AppendInt(nil, sum, 10)
	}
	return out, nil
}

// addAndTake stores the sums, then removes the keys to take. It returns
// the sums and the values taken, which the caller may keep and change: vals
// holds copies of the sums, and what was taken is copied, since values lent
// before (Lend) still hold it.
func addAndTake(vals *values, sums map[string][]byte, take []string) map[string][]byte {
	if len(sums) == 0 && len(take) == 0 {
		return nil
	}
	out := sums
	if out == nil {
		out = make(map[string][]byte, len(take))
	}
	for k, v := range sums {
		vals.set(k, cloneBytes(v))
	}
	for _, k := range take {
		if v, ok := vals.Get(k); ok {
			out[k] = cloneBytes(v)
			vals.del(k)
		}
	}
	return out
}

// changes reports whether applying d would change vals: a Delta that
// deletes or takes only keys that are not there, or clears a session of
// metadata only, leaves them as they are, and needs no copy.
func changes(vals *values, d *store.Delta) bool {
	if len(d.Set) > 0 || len(d.Add) > 0 {
		return true
	}
	for k := range vals.All() {
		if d.Clear && !isMeta(k) || slices.Contains(d.Del, k) || slices.Contains(d.Take, k) {
			return true
		}
	}
	return false
}

// added returns how many keys d sets or adds that vals does not hold (one
// too many for a key d both sets and adds): the room a copy of vals needs
// in its slice, so that a write keeps a session as small as it was. It
// looks the session's few keys up in d rather than range over d's maps,
// which costs several times more.
func added(vals *values, d *store.Delta) int {
	if vals.many != nil {
		return 0 // a map makes its own room
	}
	n := len(d.Set) + len(d.Add)
	for _, f := range vals.few {
		if _, ok := d.Set[f.key]; ok {
			n--
		}
		if _, ok := d.Add[f.key]; ok {
			n--
		}
	}
	return n
}

// apply changes vals as d says: Clear (which keeps the metadata), then
// Del, then Set. When d may have changed the value of store.UserKey, which
// the index by user follows, it reports changed and the value before (never
// modified: vals gets new slices); a Delta that leaves the user alone
// costs a string comparison per key.
func apply(vals *values, d *store.Delta) (old []byte, changed bool) {
	if d.Clear {
		vals.deleteFunc(func(k string) bool { return !isMeta(k) })
	}
	for _, k := range d.Del {
		if k == store.UserKey && !changed {
			old, _ = vals.Get(k)
			changed = true
		}
		vals.del(k)
	}
	for k, v := range d.Set {
		if k == store.UserKey && !changed {
			old, _ = vals.Get(k)
			changed = true
		}
		vals.set(k, cloneBytes(v))
	}
	return old, changed
}

// Move gives session from the ID to, with d applied, under the locks of
// both shards: no other call on either ID can come in between. A ttl of zero
// or less ends the session.
func (s *Store) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	i, j := shardOf(from), shardOf(to)
	src, dst := &s.shards[i], &s.shards[j]
	// Both locks, taken in array order so that two Moves cannot deadlock.
	if i > j {
		i, j = j, i
	}
	s.shards[i].mu.Lock()
	defer s.shards[i].mu.Unlock()
	if j != i {
		s.shards[j].mu.Lock()
		defer s.shards[j].mu.Unlock()
	}
	e, ok := s.live(src, from, now)
	if !ok {
		return false, nil
	}
	if ttl <= 0 {
		s.drop(src, from, e)
		return true, nil
	}
	if s.inUse(dst, to, now) {
		return false, store.ErrExists
	}
	if maxKeys > 0 && keysAfter(e.values, &d, maxKeys) > maxKeys {
		return false, store.ErrTooManyKeys
	}
	// Out of src and its index, into dst with the user d leaves: counted
	// all along, so stored stays, and a reservation of to is used up.
	delete(src.entries, from)
	src.unindex(from, e.user())
	if changes(e.values, &d) {
		vals := e.values.thaw(added(e.values, &d))
		if _, changed := apply(vals, &d); changed {
			user, _ := vals.Get(store.UserKey)
			e.indexed = len(user) > 0
		}
		e.values = vals
	}
	e.expires, e.access = now.Add(ttl), now.UnixNano()
	dst.entries[to] = e
	dst.index(to, e.user())
	s.reserved(to, 0)
	return true, nil
}

// renew runs change on the live entry of session id, under its shard's lock,
// then sets its time to live to ttl; a ttl of zero or less ends the session
// instead. found is false when there is no live entry. An error from change
// leaves the entry as it was.
func (s *Store) renew(ctx context.Context, id string, ttl time.Duration, change func(*shard, *entry) error) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := s.live(sh, id, now)
	if !ok {
		return false, nil
	}
	if ttl <= 0 {
		s.drop(sh, id, e)
		return true, nil
	}
	if change != nil {
		if err := change(sh, e); err != nil {
			return false, err
		}
	}
	e.expires, e.access = now.Add(ttl), now.UnixNano()
	return true, nil
}

// keysAfter returns how many keys vals would hold after applying d's
// Clear, Del, Set and Add, or a number no greater than maxKeys when that is
// all it takes to know.
func keysAfter(vals *values, d *store.Delta, maxKeys int) int {
	// Cheap upper bound first: only a Delta near the limit, or one that
	// clears, pays for the exact count.
	if n := vals.Len() + len(d.Set) + len(d.Add); n <= maxKeys && !d.Clear {
		return n
	}
	n := 0
	for k := range vals.All() {
		_, set := d.Set[k]
		_, add := d.Add[k]
		kept := (!d.Clear || isMeta(k)) && !slices.Contains(d.Del, k)
		if kept || set || add {
			n++
		}
	}
	for k := range d.Set {
		if _, ok := vals.Get(k); !ok {
			n++
		}
	}
	for k := range d.Add {
		_, ok := vals.Get(k)
		_, set := d.Set[k]
		if !ok && !set {
			n++
		}
	}
	return n
}

// Touch sets the time to live of session id to ttl. A ttl of zero or less
// ends the session.
func (s *Store) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return s.renew(ctx, id, ttl, nil)
}

// Delete removes session id, if it is live, and reports whether it was. An
// expired session stays for its claimer.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, found := s.live(sh, id, s.now())
	if found {
		s.drop(sh, id, e)
	}
	return found, nil
}

// cloneBytes returns a copy of b; a nil or empty b gives an empty, non-nil
// slice, so that a stored empty value reads back the same way every time.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

// isMeta reports whether key is the middleware's metadata, which Clear
// keeps.
func isMeta(key string) bool { return strings.HasPrefix(key, "@") }
