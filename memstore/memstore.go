package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// SweepInterval is how often the background sweeper removes expired
	// sessions. Expired sessions are never returned in between; the sweep
	// only bounds the memory they hold. Default: 1 minute.
	SweepInterval time.Duration
	// Now returns the current time; tests set it to a fake clock.
	// Default: time.Now.
	Now func() time.Time
}

// numShards is the number of independently locked parts of the map, so that
// requests for different sessions rarely wait for each other.
const numShards = 32

// Store keeps sessions in memory. It implements store.Store, and is safe for
// concurrent use. Call Close to stop its sweeper when done with it.
type Store struct {
	now    func() time.Time
	shards [numShards]shard

	stop      chan struct{} // closed by Close to stop the sweeper
	done      chan struct{} // closed by the sweeper when it returns
	closeOnce sync.Once
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Nonblocking = (*Store)(nil)
)

// Nonblocking tells the middleware that calls never wait: it needs no
// per-call timeout.
func (s *Store) Nonblocking() {}

// shard is one part of the map.
type shard struct {
	mu      sync.Mutex        // protects entries
	entries map[string]*entry // by session ID
}

// entry is one session.
type entry struct {
	values  map[string][]byte // owned by the store: copied in and out
	expires time.Time
}

// New returns an empty Store and starts its sweeper. It panics if
// cfg.SweepInterval is negative.
func New(cfg Config) *Store {
	if cfg.SweepInterval < 0 {
		panic(fmt.Sprintf("memstore: negative SweepInterval %v", cfg.SweepInterval))
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		now:  cfg.Now,
		stop: make(chan struct{}),
		done: make(chan struct{}),
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
// working; expired sessions are then only removed when accessed or by Sweep.
// Close always returns nil, and may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// Sweep removes every expired session now. The sweeper calls it every
// SweepInterval.
func (s *Store) Sweep() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id, e := range sh.entries {
			if e.expired(now) {
				delete(sh.entries, id)
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

// live returns the unexpired entry for id, removing an expired one. The
// caller holds sh.mu.
func (sh *shard) live(id string, now time.Time) (*entry, bool) {
	e, ok := sh.entries[id]
	if !ok {
		return nil, false
	}
	if e.expired(now) {
		delete(sh.entries, id)
		return nil, false
	}
	return e, true
}

// expired reports whether e has expired at now. A session lives for exactly
// its ttl: it has expired once now reaches its expiry.
func (e *entry) expired(now time.Time) bool {
	return !now.Before(e.expires)
}

// Load returns a copy of the values of session id, and sets its time to live
// to ttl if ttl is greater than zero.
func (s *Store) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.live(id, now)
	if !ok {
		return nil, false, nil
	}
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	return clone(e.values), true, nil
}

// Create stores a new session with a copy of values, expiring after ttl. A
// ttl of zero or less creates a session that has already expired, so nothing
// is stored.
func (s *Store) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if maxKeys > 0 && len(values) > maxKeys {
		return store.ErrTooManyKeys
	}
	now := s.now()
	e := &entry{values: clone(values), expires: now.Add(ttl)}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.live(id, now); ok {
		return store.ErrExists
	}
	if ttl > 0 {
		sh.entries[id] = e
	}
	return nil
}

// Update applies d to session id and sets its time to live to ttl. A ttl of
// zero or less ends the session.
func (s *Store) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	return s.renew(ctx, id, ttl, func(e *entry) error {
		if maxKeys > 0 && keysAfter(e.values, &d, maxKeys) > maxKeys {
			return store.ErrTooManyKeys
		}
		apply(e.values, &d)
		return nil
	})
}

// apply changes values as d says: Clear, then Del, then Set.
func apply(values map[string][]byte, d *store.Delta) {
	if d.Clear {
		clear(values)
	}
	for _, k := range d.Del {
		delete(values, k)
	}
	for k, v := range d.Set {
		values[k] = cloneBytes(v)
	}
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
	e, ok := src.live(from, now)
	if !ok {
		return false, nil
	}
	if ttl <= 0 {
		delete(src.entries, from)
		return true, nil
	}
	if _, ok := dst.live(to, now); ok {
		return false, store.ErrExists
	}
	if maxKeys > 0 && keysAfter(e.values, &d, maxKeys) > maxKeys {
		return false, store.ErrTooManyKeys
	}
	delete(src.entries, from)
	apply(e.values, &d)
	e.expires = now.Add(ttl)
	dst.entries[to] = e
	return true, nil
}

// renew runs change on the live entry of session id, under its shard's lock,
// then sets its time to live to ttl; a ttl of zero or less ends the session
// instead. found is false when there is no live entry. An error from change
// leaves the entry as it was.
func (s *Store) renew(ctx context.Context, id string, ttl time.Duration, change func(*entry) error) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.live(id, now)
	if !ok {
		return false, nil
	}
	if ttl <= 0 {
		delete(sh.entries, id)
		return true, nil
	}
	if change != nil {
		if err := change(e); err != nil {
			return false, err
		}
	}
	e.expires = now.Add(ttl)
	return true, nil
}

// keysAfter returns how many keys values would hold after applying d, or a
// number no greater than maxKeys when that is all it takes to know.
func keysAfter(values map[string][]byte, d *store.Delta, maxKeys int) int {
	if d.Clear {
		return len(d.Set)
	}
	// Cheap upper bound first: only a Delta near the limit pays for the
	// exact count.
	if n := len(values) + len(d.Set); n <= maxKeys {
		return n
	}
	removed := make(map[string]bool, len(d.Del))
	for _, k := range d.Del {
		if _, ok := values[k]; ok {
			removed[k] = true
		}
	}
	n := len(values) - len(removed)
	for k := range d.Set {
		if _, ok := values[k]; !ok || removed[k] {
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

// Delete removes session id, if it is stored, and reports whether it was.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, found := sh.live(id, s.now())
	delete(sh.entries, id)
	return found, nil
}

// clone returns a deep copy of values, never nil.
func clone(values map[string][]byte) map[string][]byte {
	c := make(map[string][]byte, len(values))
	for k, v := range values {
		c[k] = cloneBytes(v)
	}
	return c
}

// cloneBytes returns a copy of b; a nil or empty b gives an empty, non-nil
// slice, so that a stored empty value reads back the same way every time.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
