package memstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// reserveGrace is how long a reservation counts before its session is
// stored: the middleware creates the session right after reserving it.
const reserveGrace = time.Minute

// reservations are the IDs that Reserve counted before their sessions were
// stored.
type reservations struct {
	mu    sync.Mutex       // protects until, and orders Reserve with reserved
	until map[string]int64 // reserved ID -> when its reservation lapses (Unix ns)
	n     atomic.Int32     // len(until), so that Create skips mu when it is 0
}

// Reserve counts id toward a limit of max sessions, unless max or more are
// counted already: every session stored, live or expired until it is
// reaped or forgotten, and every reservation younger than a minute whose
// session is not stored yet. Max 0 counts id without a limit. It never
// waits on more than one small lock.
func (s *Store) Reserve(ctx context.Context, id string, max int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now().UnixNano()
	r := &s.pending
	r.mu.Lock()
	defer r.mu.Unlock()
	for rid, until := range r.until {
		if until <= now {
			delete(r.until, rid)
		}
	}
	defer func() { r.n.Store(int32(len(r.until))) }()
	if _, ok := r.until[id]; ok {
		return true, nil
	}
	if max > 0 && s.stored.Load()+int64(len(r.until)) >= int64(max) {
		return false, nil
	}
	if r.until == nil {
		r.until = make(map[string]int64)
	}
	r.until[id] = now + int64(reserveGrace)
	return true, nil
}

// reserved uses up the reservation of id, if any, now that its session is
// stored, and adds add to the count of stored sessions: both in one step, as
// Reserve sees them, so that the session is never counted twice or not at
// all. The caller holds the lock of id's shard (shard locks come before
// r.mu, never after).
func (s *Store) reserved(id string, add int64) {
	r := &s.pending
	if r.n.Load() == 0 {
		// id was not reserved: Reserve, which the caller called first
		// if at all, left n above 0 otherwise.
		s.stored.Add(add)
		return
	}
	r.mu.Lock()
	if _, ok := r.until[id]; ok {
		delete(r.until, id)
		r.n.Store(int32(len(r.until)))
	}
	s.stored.Add(add)
	r.mu.Unlock()
}
