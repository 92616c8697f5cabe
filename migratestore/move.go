package migratestore

import (
	"context"
	"errors"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// outcome is what moving one session from the old store to the new one came
// to.
type outcome uint8

const (
	// absent: the old store does not hold the session (live).
	absent outcome = iota
	// moved: this call copied the session into the new store and deleted
	// it from the old one.
	moved
	// raced: another call had put the session in the new store already;
	// the old store is left to that call.
	raced
	// undone: the old store lost the session while this call copied it (a
	// logout, an administrator, its expiry), so the copy was deleted: the
	// session stays ended.
	undone
	// left: the session was read from the old store and left there: its
	// remaining time to live is unknown (Config.TTL) or all but gone.
	left
)

// moveOver moves session id from the old store to the new one: it reads
// it from the old store, creates it in the new one, then deletes it from
// the old store. The copy lives for ttl when that is given: a Load or a
// Touch sets it anyway. With a ttl of zero it keeps the expiry it has in
// the old store, so that a write the new store then refuses (too many
// keys, not an integer) extends nothing; when the old store cannot say
// (it keeps no index), the copy lives for fallback, and with a fallback of
// zero too the session is left where it is. values are what it read, when
// it moved or left the session.
//
// Creating before deleting means the session is always in one store or
// both, so a concurrent call that looks in the new store, then the old,
// then the new again never misses it. Of two concurrent movers, Create
// lets one win; the other (raced) leaves the old copy to the winner. Since
// nothing but deletes touches the old store once sessions move, the copy is
// the session as it is. A Delete that runs meanwhile deletes from the old
// store first: then the winner's delete finds nothing, and it deletes its
// copy again (undone), so a logout racing a move cannot bring the session
// back.
func (s *Store) moveOver(ctx context.Context, id string, ttl, fallback time.Duration) (map[string][]byte, outcome, error) {
	values, ttl, found, err := s.readOld(ctx, id, ttl, fallback)
	switch {
	case err != nil || !found:
		return nil, absent, err
	case ttl <= 0:
		return values, left, nil
	}
	switch err := s.new.Create(ctx, id, values, ttl, 0); {
	case errors.Is(err, store.ErrExists):
		return nil, raced, nil
	case err != nil:
		return nil, absent, err
	}
	// The copy is made: what follows must not stop halfway because the
	// request's client went away, which would leave the session in both
	// stores, or a logout's session in the new one.
	ctx, cancel := finishing(ctx)
	defer cancel()
	found, err = s.old.Delete(ctx, id)
	if err != nil {
		// The old store may still have it: the copy is kept, since
		// deleting it could lose a session the old store no longer has.
		// The old copy is stale; ClaimExpired drops it when it expires.
		return nil, absent, err
	}
	if !found {
		return nil, undone, s.undo(ctx, id)
	}
	return values, moved, nil
}

// readOld reads session id from the old store, without touching it there,
// and says how long its copy is to live (see moveOver): zero when the
// session is to stay where it is, its time to live unknown or spent by the
// Store's clock.
func (s *Store) readOld(ctx context.Context, id string, ttl, fallback time.Duration) (values map[string][]byte, copyTTL time.Duration, found bool, err error) {
	if ttl <= 0 && s.old.ix != nil {
		rec, found, err := s.old.ix.Peek(ctx, id)
		if err != nil || !found {
			return nil, 0, false, err
		}
		return rec.Values, max(rec.Expires.Sub(s.cfg.Now()), 0), true, nil
	}
	values, found, err = s.old.Load(ctx, id, 0)
	if err != nil || !found {
		return nil, 0, false, err
	}
	if ttl <= 0 {
		ttl = fallback
	}
	return values, ttl, true, nil
}

// undo deletes the copy of session id that moveOver made, after the old
// store lost the session. If the copy expired already (its time to live
// was what the old store had left), Delete leaves it for a claimer of
// expiries, and Reap removes it, since the old store's expired session is
// the one whose expiry fires.
func (s *Store) undo(ctx context.Context, id string) error {
	found, err := s.new.Delete(ctx, id)
	if err != nil || found || s.new.ex == nil {
		return err
	}
	return s.new.ex.Reap(ctx, id)
}

// finishing returns ctx without its cancellation but with its deadline, for
// the calls that finish a move: a stalled store still ends them.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	f := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(f, deadline)
	}
	return f, func() {}
}
