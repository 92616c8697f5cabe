package migratestore

import (
	"context"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// ClaimExpired claims expired sessions from the new store, then, to make up
// limit, from the old one, so that sessions that expire before they move
// still reach the Manager's OnExpired, once. It drops, and reaps, an
// expired session of the old store that is live in the new one: a copy
// left behind by a move whose delete failed, whose expiry is not the
// session's.
func (s *Store) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	if err := s.notIndexed(ctx, "ClaimExpired"); err != nil {
		return nil, err
	}
	recs, err := s.new.ex.ClaimExpired(ctx, limit, lease)
	if err != nil || len(recs) >= limit {
		return recs, err
	}
	for need := limit - len(recs); need > 0; {
		batch, err := s.old.ex.ClaimExpired(ctx, need, lease)
		if err != nil {
			return recs, err
		}
		kept, err := s.dropStale(ctx, batch)
		if err != nil {
			return recs, err
		}
		recs = append(recs, kept...)
		if len(batch) < need {
			break // the old store has no more: a short batch is the end
		}
		need -= len(kept)
	}
	return recs, nil
}

// dropStale returns the sessions of recs, claimed from the old store, that
// the new store does not hold live, and reaps the others from the old
// store.
func (s *Store) dropStale(ctx context.Context, recs []store.Record) ([]store.Record, error) {
	kept := recs[:0]
	var stale []string
	for _, rec := range recs {
		_, live, err := s.new.Load(ctx, rec.ID, 0)
		if err != nil {
			return nil, err
		}
		if live {
			stale = append(stale, rec.ID)
		} else {
			kept = append(kept, rec)
		}
	}
	if len(stale) > 0 {
		if err := s.old.ex.Reap(ctx, stale...); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// Reap reaps ids from both stores: an ID claimed from either is reaped
// where it is, and the other store, which does not hold it expired,
// changes nothing.
func (s *Store) Reap(ctx context.Context, ids ...string) error {
	if err := s.notIndexed(ctx, "Reap"); err != nil {
		return err
	}
	if err := s.old.ex.Reap(ctx, ids...); err != nil {
		return err
	}
	return s.new.ex.Reap(ctx, ids...)
}
