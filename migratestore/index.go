package migratestore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/seed58a3dad2/session/store"
)

// Indexed reports whether both stores keep an index and are
// store.Expirers and store.Limiters, as memstore, redisstore with Index and
// sqlstore are: only then can the Store count, list and find every session
// of the farm, in whichever store it is, and hand out the expiries of both.
// Otherwise the methods of store.Indexer, store.Expirer and store.Limiter
// return store.ErrNotIndexed, and the Manager refuses the features that
// need them.
func (s *Store) Indexed() bool { return s.indexed }

// notIndexed is the error of the Indexer, Expirer and Limiter methods of a
// Store that is not indexed.
func (s *Store) notIndexed(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.indexed {
		return fmt.Errorf("migratestore: %s: %w (both stores need one, and must be store.Expirers and store.Limiters)", op, store.ErrNotIndexed)
	}
	return nil
}

// Count returns how many sessions are live in both stores together. A
// session that moves while it counts may be counted twice, since it is in
// both stores for a moment.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.notIndexed(ctx, "Count"); err != nil {
		return 0, err
	}
	inOld, err := s.old.ix.Count(ctx)
	if err != nil {
		return 0, err
	}
	inNew, err := s.new.ix.Count(ctx)
	return inOld + inNew, err
}

// Cursors of List name the store they continue in: "o:" and the old
// store's cursor, then "n:" and the new store's ("n:" alone for its first
// page).
const (
	oldCursor = "o:"
	newCursor = "n:"
)

// List lists the old store's sessions, then the new store's. A session that
// stays live, and stays where it is, from the first page to the last is
// listed once; one that moves meanwhile may be listed twice, once by each
// store, but is never missed: it can only move from the store listed first
// to the one listed after.
func (s *Store) List(ctx context.Context, cursor string, limit int) ([]store.Info, string, error) {
	if err := s.notIndexed(ctx, "List"); err != nil {
		return nil, "", err
	}
	switch {
	case cursor == "" || strings.HasPrefix(cursor, oldCursor):
		page, next, err := s.old.ix.List(ctx, strings.TrimPrefix(cursor, oldCursor), limit)
		if err != nil {
			return nil, "", err
		}
		if next == "" {
			return page, newCursor, nil
		}
		return page, oldCursor + next, nil
	case strings.HasPrefix(cursor, newCursor):
		page, next, err := s.new.ix.List(ctx, strings.TrimPrefix(cursor, newCursor), limit)
		if err != nil || next == "" {
			return page, "", err
		}
		return page, newCursor + next, nil
	}
	return nil, "", fmt.Errorf("migratestore: List: the cursor %q was not returned by a migratestore's List", cursor)
}

// Peek returns session id as the new store has it, else as the old store
// has it, without moving it or setting its time to live.
func (s *Store) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	if err := s.notIndexed(ctx, "Peek"); err != nil {
		return store.Record{}, false, err
	}
	var rec store.Record
	peek := func(sd *side) (found bool, err error) {
		rec, found, err = sd.ix.Peek(ctx, id)
		return found, err
	}
	if !s.moving() {
		found, err := s.inPlace(peek)
		return rec, found, err
	}
	// New, old, then new again: a move that ends between the first two
	// looks takes the session from the old store after it is in the new.
	for _, sd := range []*side{&s.new, &s.old, &s.new} {
		if found, err := peek(sd); err != nil || found {
			return rec, found, err
		}
	}
	return store.Record{}, false, nil
}

// Remove removes session id from the old store, then from the new one, as
// Delete does, and returns what the new store said of it, else what the old
// one said.
func (s *Store) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	if err := s.notIndexed(ctx, "Remove"); err != nil {
		return store.Info{}, false, err
	}
	oldInfo, inOld, err := s.old.ix.Remove(ctx, id)
	if err != nil {
		return store.Info{}, false, err
	}
	newInfo, inNew, err := s.new.ix.Remove(ctx, id)
	if err != nil || inNew {
		return newInfo, inNew, err
	}
	return oldInfo, inOld, nil
}

// UserSessions returns the sessions of user in both stores, oldest first,
// each once: as the new store has it when both do. It asks the old store
// first, so that a session moving meanwhile is found in one or the other.
// A session that moved has the Created of its move (see the package
// documentation), which is where it comes in the order.
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	if err := s.notIndexed(ctx, "UserSessions"); err != nil {
		return nil, err
	}
	inOld, err := s.old.ix.UserSessions(ctx, user)
	if err != nil {
		return nil, err
	}
	inNew, err := s.new.ix.UserSessions(ctx, user)
	if err != nil {
		return nil, err
	}
	if len(inOld) == 0 {
		return inNew, nil
	}
	infos := slices.Concat(inNew, inOld)
	slices.SortStableFunc(infos, func(a, b store.Info) int { return cmp.Compare(a.ID, b.ID) })
	infos = slices.CompactFunc(infos, func(a, b store.Info) bool { return a.ID == b.ID }) // keeps the first: the new store's
	slices.SortFunc(infos, func(a, b store.Info) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return infos, nil
}
