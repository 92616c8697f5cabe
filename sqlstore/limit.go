package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// reservationGrace is how long a reservation whose session never came
// counts toward the limit. Create or Move follows Reserve within the
// middleware's store timeout (seconds); a minute leaves a wide margin and
// keeps the limit from being held by clients that gave up.
const reservationGrace = time.Minute

// purgeBatch bounds how many stale reservations one Reserve removes when
// the limit is reached, to make room.
const purgeBatch = 1000

// Reserve counts id toward a limit of max sessions, before the session is
// stored under it; it reports false, counting nothing, when max or more are
// counted already. max of zero or less counts id without a limit.
//
// What counts: reservations, and the sessions stored under one (Create or
// Move to a reserved ID consumes the reservation, and the session counts in
// its place) until they are deleted, moved away from, reaped or swept; an
// expired session counts until a claimer reaps it or the sweep removes it
// after Retention. A session stored without a reservation does not count:
// the middleware reserves every new session while MaxSessions is set, so
// with the limit on from the start the count is exact, and the statements
// that store and delete sessions touch no count while it is off. Switched
// on later, it counts the sessions stored (or renewed) since.
//
// The counts are 64 rows per application of <Table>_counts, whose sum is
// what counts, so that concurrent reservations and deletes seldom update
// the same row. Reserve with a limit locks all 64 (in shard order, where
// every other transaction locks at most one), adds them up and inserts the
// reservation before it lets go: concurrent reservations on any number of
// servers take turns, and the limit is never passed. At the limit it first
// removes reservations past their grace period (a minute) to make room.
// Cost on PostgreSQL: a transaction of two statements (three at the limit),
// during which the application's reservations, and deletes of counted
// sessions, wait; with max of zero or less, one statement and no wait.
func (s *Store) Reserve(ctx context.Context, id string, max int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: reserve: %w", err)
	}
	if !validText(id) {
		return false, badID("reserve", id)
	}
	t := s.now()
	ok, err := s.e.reserve(ctx, id, max, millis(t), millis(t.Add(reservationGrace)))
	if err != nil {
		return false, fmt.Errorf("sqlstore: reserve: %w", err)
	}
	return ok, nil
}
