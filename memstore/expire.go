package memstore

import (
	"context"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// ClaimExpired claims up to limit expired sessions that no running lease
// holds, each until lease from now, and returns them with their values. A
// session that expired longer ago than Retention is returned with nil
// Values and forgotten at once. It scans the shards, one lock at a time,
// from a shard that moves on with every call so that concurrent claimers
// start apart: O(n) for a claim that finds few.
func (s *Store) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	now := s.now()
	at, until := now.UnixNano(), now.Add(lease).UnixNano()
	start := int(s.claimStart.Add(1))
	var recs []store.Record
	for k := 0; k < numShards && len(recs) < limit; k++ {
		sh := &s.shards[(start+k)%numShards]
		sh.mu.Lock()
		for id, e := range sh.entries {
			if len(recs) == limit {
				break
			}
			if !e.expired(now) || e.claim > at {
				continue
			}
			if s.forgotten(e, now) {
				recs = append(recs, store.Record{Info: e.info(id)})
				s.drop(sh, id, e)
				continue
			}
			e.claim = until
			recs = append(recs, store.Record{Info: e.info(id), Values: e.values.clone()})
		}
		sh.mu.Unlock()
	}
	return recs, nil
}

// Reap deletes the given sessions that expired, claimed or not; a live one
// it leaves alone.
func (s *Store) Reap(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	for _, id := range ids {
		sh := s.shard(id)
		sh.mu.Lock()
		if e, ok := sh.entries[id]; ok && e.expired(now) {
			s.drop(sh, id, e)
		}
		sh.mu.Unlock()
	}
	return nil
}
