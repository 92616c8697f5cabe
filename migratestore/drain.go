package migratestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed58a3dad2/session/store"
)

// Remaining returns how many sessions are live in the old store: once it is
// 0, and the reaper has handed the old store's last expired sessions to
// OnExpired (one Config.ReapInterval later), the old store can be taken
// away and the Store replaced by the new one. It needs an old store that
// keeps an index; with any other, wait for one IdleTimeout after MoveFrom,
// by when every session of the old store has been used, and so moved, or
// has expired.
func (s *Store) Remaining(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.old.ix == nil {
		return 0, fmt.Errorf("migratestore: Remaining: %w: the old store cannot count its sessions", store.ErrNotIndexed)
	}
	return s.old.ix.Count(ctx)
}

// moveAllPage is how many sessions MoveAll lists at a time.
const moveAllPage = 100

// ErrReadingThrough is returned by MoveAll before Config.MoveFrom: servers
// that still use the old store alone may be running, and would lose the
// sessions moved away from it.
var ErrReadingThrough = errors.New("migratestore: MoveAll: the Store reads through until Config.MoveFrom: move nothing before every server reads through")

// MoveAll moves every session of the old store to the new one, each with
// the time to live it has left, and returns how many it moved, so that the
// old store can go without waiting for its sessions to expire. Requests
// may use the sessions meanwhile: a session moved by a request, or ended,
// is left as it is. A session within a moment of its expiry is left to
// expire where it is. It needs an old store that keeps an index, to list
// its sessions, and returns ErrReadingThrough before Config.MoveFrom.
func (s *Store) MoveAll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.old.ix == nil {
		return 0, fmt.Errorf("migratestore: MoveAll: %w: the old store cannot list its sessions", store.ErrNotIndexed)
	}
	if !s.moving() {
		return 0, ErrReadingThrough
	}
	n := 0
	cursor := ""
	for {
		page, next, err := s.old.ix.List(ctx, cursor, moveAllPage)
		if err != nil {
			return n, err
		}
		for _, info := range page {
			_, o, err := s.moveOver(ctx, info.ID, 0, 0)
			if err != nil {
				return n, err
			}
			if o == moved {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}
