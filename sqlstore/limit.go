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
// What is counted is kept in <Table>_counts, 64 rows per application, which
// the statements that store, delete, move, reap and sweep sessions update
// in the same transaction: a session counts from its Create (or from its
// reservation) until it is deleted, moved away from, reaped or swept, so an
// expired session counts until a claimer reaps it or the sweep removes it
// after Retention. Reserve with a limit locks all 64 rows of the
// application (in shard order, the order every transaction takes them in),
// adds them up, and inserts the reservation before it lets go: concurrent
// reservations on any number of servers take turns, and the limit is never
// passed. When the limit is reached, reservations past their grace period
// (a minute) are removed first to make room. Cost: on PostgreSQL a
// transaction of two statements (three when it removes stale
// reservations), during which the application's creates and deletes wait;
// with max of zero or less, one statement and no wait.
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
