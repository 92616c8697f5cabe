package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// ClaimExpired leases up to limit sessions that expired and that no
// unexpired lease holds, oldest first, each until lease from now, and
// returns them with their values and metadata; a session that expired
// longer than Retention ago is returned with nil Values and deleted, in the
// same statement on PostgreSQL (the same transaction on SQLite). On
// PostgreSQL, claimers skip the rows another claimer is taking at that
// moment (FOR UPDATE SKIP LOCKED), so any number of servers claim at once,
// each a different session, without waiting for each other.
func (s *Store) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claim expired: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	t := s.now()
	now := millis(t)
	recs, err := s.e.claim(ctx, now, expiry(now, lease), millis(t.Add(-s.retention)), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim expired: %w", err)
	}
	return recs, nil
}

// Reap deletes the expired sessions ids for good, and stops counting them
// toward Reserve's limit, in one statement on PostgreSQL (a transaction on
// SQLite). A session that is live is left alone.
func (s *Store) Reap(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: reap: %w", err)
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !validText(id) })
	if len(ids) == 0 {
		return nil
	}
	if err := s.e.reap(ctx, ids, millis(s.now())); err != nil {
		return fmt.Errorf("sqlstore: reap: %w", err)
	}
	return nil
}

// A sweepTarget is what one kind of sweep batch removes.
type sweepTarget int

const (
	// sweepSessions: sessions expired longer than Retention ago.
	sweepSessions sweepTarget = iota
	// sweepReservations: reservations past their grace period.
	sweepReservations
	// sweepEvents: events older than EventRetention.
	sweepEvents
)

// Sweep removes, now, the sessions that expired longer than Retention ago
// (which no claimer took), the reservations past their grace period and the
// events older than EventRetention, in batches of at most SweepBatch
// rows each, and returns how many rows it removed. The sweeper calls it
// every SweepInterval.
//
// It touches only rows that no request reads or writes (expired sessions,
// stale reservations, old events). On PostgreSQL each batch is one
// statement; servers sweeping at once skip each other's rows (FOR UPDATE
// SKIP LOCKED), so they neither repeat work nor wait for each other, and a
// batch updates one row of <Table>_counts, which only a reservation or the
// delete of a counted session may wait for, until the batch commits. On
// SQLite each batch is a write transaction, which writers wait for.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	cuts := []struct {
		what sweepTarget
		cut  time.Time
	}{
		{sweepSessions, now.Add(-s.retention)},
		{sweepReservations, now},
		{sweepEvents, now.Add(-s.eventRetention)},
	}
	total := 0
	for _, c := range cuts {
		for {
			n, err := s.e.sweep(ctx, c.what, millis(now), millis(c.cut), s.sweepBatch)
			total += n
			if err != nil {
				return total, fmt.Errorf("sqlstore: sweep: %w", err)
			}
			if n < s.sweepBatch {
				break
			}
		}
	}
	return total, nil
}

// sweepEvery calls Sweep every interval until Close, starting at a random
// point of the first interval so that servers started together do not
// sweep together.
func (s *Store) sweepEvery(interval time.Duration) {
	first := time.NewTimer(rand.N(interval))
	defer first.Stop()
	select {
	case <-first.C:
	case <-s.ctx.Done():
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := s.Sweep(s.ctx); err != nil && s.ctx.Err() == nil {
			s.onError(err)
		}
		select {
		case <-ticker.C:
		case <-s.ctx.Done():
			return
		}
	}
}

// readRecords reads the rows of pgClaim: one per value of each session (a
// session without values, or past retention, gives one row without), in
// order of expiry. A session that expired at cut or before gets nil Values.
func readRecords(rows *sql.Rows, err error, cut int64) ([]store.Record, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []store.Record
	for rows.Next() {
		var (
			id                       string
			user, label, key, value  []byte
			created, access, expires int64
			present                  bool
		)
		if err := rows.Scan(&id, &user, &label, &created, &access, &expires, &present, &key, &value); err != nil {
			return nil, err
		}
		if len(recs) == 0 || recs[len(recs)-1].ID != id {
			rec := store.Record{Info: store.Info{ID: id}}
			fillInfo(&rec.Info, user, label, created, access, expires)
			if expires > cut {
				rec.Values = make(map[string][]byte)
			}
			recs = append(recs, rec)
		}
		if present {
			recs[len(recs)-1].Values[string(key)] = nonNil(value)
		}
	}
	return recs, rows.Err()
}

// readClaimedValues reads rows of id, key and value into the records of
// byID.
func readClaimedValues(rows *sql.Rows, err error, byID map[string]*store.Record) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id         string
			key, value []byte
		)
		if err := rows.Scan(&id, &key, &value); err != nil {
			return err
		}
		rec, ok := byID[id]
		if !ok || rec.Values == nil {
			return errors.New("a claimed session's values came back for another session")
		}
		rec.Values[string(key)] = nonNil(value)
	}
	return rows.Err()
}

// byExpiry orders records by expiry, then ID.
func byExpiry(a, b store.Record) int {
	return cmp.Or(a.Expires.Compare(b.Expires), cmp.Compare(a.ID, b.ID))
}
