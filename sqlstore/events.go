package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// pollBatch is how many events one poll of a subscription reads; a full
// batch is followed by another poll at once.
const pollBatch = 500

// Publish records e in <Table>_events under the application's next event
// number, with one statement on PostgreSQL (two in a transaction on
// SQLite), for every subscription of the application, on this server and
// others, to read at its next poll.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: publish: %w", err)
	}
	if !validText(e.ID) || !validText(e.Reason) {
		return fmt.Errorf("sqlstore: publish: the ID %q and reason %q of an event must be valid UTF-8 without NUL bytes", e.ID, e.Reason)
	}
	if err := s.e.publish(ctx, e, millis(s.now())); err != nil {
		return fmt.Errorf("sqlstore: publish: %w", err)
	}
	return nil
}

// Subscribe calls fn, on a goroutine of its own and one event at a time,
// for every event of the application published after Subscribe returns,
// until ctx is done or the Store is closed; done is closed once the last
// call to fn has returned. It returns an error when the database cannot be
// reached, and then never calls fn.
//
// No LISTEN/NOTIFY or other driver feature is used: the subscription asks
// for the events numbered after the last it saw every PollInterval. Events
// are numbered in the order they become visible (see Publish), so each
// subscriber gets every event published while it is subscribed, in order,
// exactly once, about PollInterval after it happened. A subscriber that
// cannot reach the database catches up when it can again, unless the
// events were swept meanwhile (EventRetention, 1 minute by default): those
// it misses. That is more than the at-most-once of pub/sub that
// store.Notifier asks for, at the price of one query per subscription per
// PollInterval.
func (s *Store) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: subscribe: %w", err)
	}
	if s.ctx.Err() != nil {
		return nil, errors.New("sqlstore: subscribe: the store is closed")
	}
	var last int64
	if err := s.e.reader().QueryRowContext(ctx, s.q.lastEvent, s.app).Scan(&last); err != nil {
		return nil, fmt.Errorf("sqlstore: subscribe: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel) // Close ends the subscription too
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stop()
		defer cancel()
		s.poll(ctx, last, fn)
	}()
	return done, nil
}

// poll delivers the events numbered after last every PollInterval until ctx
// is done.
func (s *Store) poll(ctx context.Context, last int64, fn func(store.Event)) {
	ticker := time.NewTicker(s.pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
		for {
			events, seqs, err := s.events(ctx, last)
			if err != nil {
				if ctx.Err() == nil {
					s.onError(fmt.Errorf("sqlstore: poll events: %w", err))
				}
				break
			}
			for i, e := range events {
				if ctx.Err() != nil {
					return
				}
				fn(e)
				last = seqs[i]
			}
			if len(events) < pollBatch {
				break
			}
		}
	}
}

// events returns up to pollBatch events numbered after last, with their
// numbers.
func (s *Store) events(ctx context.Context, last int64) ([]store.Event, []int64, error) {
	rows, err := s.e.reader().QueryContext(ctx, s.q.events, s.app, last, pollBatch)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		events []store.Event
		seqs   []int64
	)
	for rows.Next() {
		var (
			seq  int64
			kind int
			e    store.Event
			user []byte
		)
		if err := rows.Scan(&seq, &kind, &e.ID, &user, &e.Reason); err != nil {
			return nil, nil, err
		}
		e.Kind = store.EventKind(kind)
		e.User = string(user)
		events = append(events, e)
		seqs = append(seqs, seq)
	}
	return events, seqs, rows.Err()
}
