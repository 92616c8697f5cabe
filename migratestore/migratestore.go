package migratestore

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Config configures a Store. The zero value moves sessions at once.
type Config struct {
	// TTL is the time to live given to a session moved by a Load without
	// one (the middleware loads so when no touch is due), when the old
	// store cannot say how long the session has left: when it is not a
	// store.Indexer with its index on. Set it to the Manager's
	// IdleTimeout. Default: 0, with which such a Load reads the session
	// from the old store and leaves it there, to move at its next write or
	// touch. An old store with an index gives the session what it has
	// left there, whatever TTL says.
	TTL time.Duration

	// MoveFrom is when the Store starts moving sessions: from then on new
	// sessions are created in the new store and old ones move there as
	// they are used. Before it the Store reads through: it creates
	// sessions in the old store and writes each one where it is, first
	// looking in the old store, so that it can serve a farm beside
	// servers that still use the old store alone (see the package
	// documentation for the rollout). Every server must be given the same
	// instant, and their clocks must agree (NTP does). Default: the zero
	// time, moving from the start.
	MoveFrom time.Time

	// Now returns the current time, read to compare with MoveFrom and
	// with the expiry the old store reports for a session it holds.
	// Default: time.Now.
	Now func() time.Time
}

// Store is a store.Store that moves sessions from an old store to a new one
// as they are used: see the package documentation. It implements every
// optional capability of package store but store.Lender, which a Load that
// moves a session cannot honour without a copy; store.Indexer,
// store.Expirer and store.Limiter only when both stores have them (Indexed reports false,
// and their methods return store.ErrNotIndexed, otherwise). It is safe for
// concurrent use. It does not close either store.
type Store struct {
	old, new side
	cfg      Config
	indexed  bool // both stores are indexed Indexers, Expirers and Limiters
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Indexer  = (*Store)(nil)
	_ store.Expirer  = (*Store)(nil)
	_ store.Limiter  = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// side is one of the two stores, with the optional capabilities it has,
// found once by type assertion as the Manager finds them.
type side struct {
	store.Store
	ix  store.Indexer  // nil unless it keeps an index
	ex  store.Expirer  // nil unless it keeps an index and is one
	lim store.Limiter  // nil unless it keeps an index and is one
	nt  store.Notifier // nil unless it is one: a Notifier needs no index
}

func newSide(st store.Store) side {
	sd := side{Store: st}
	if ix, ok := st.(store.Indexer); ok && ix.Indexed() {
		sd.ix = ix
		sd.ex, _ = st.(store.Expirer)
		sd.lim, _ = st.(store.Limiter)
	}
	sd.nt, _ = st.(store.Notifier)
	return sd
}

// New returns a Store that moves sessions from old to new. It panics if
// either is nil, if they are the same store, or if cfg.TTL is negative.
func New(old, new store.Store, cfg Config) *Store {
	if old == nil || new == nil {
		panic("migratestore: nil store: give the store the sessions are in and the one they move to")
	}
	// Comparing stores of a type that cannot be compared would panic.
	if reflect.TypeOf(old).Comparable() && old == new {
		panic("migratestore: the old and the new store are the same")
	}
	if cfg.TTL < 0 {
		panic(fmt.Sprintf("migratestore: negative TTL %v", cfg.TTL))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{old: newSide(old), new: newSide(new), cfg: cfg}
	s.indexed = s.old.ex != nil && s.old.lim != nil && s.new.ex != nil && s.new.lim != nil
	return s
}

// moving reports whether the Store moves sessions now, or reads through
// (Config.MoveFrom).
func (s *Store) moving() bool {
	return s.cfg.MoveFrom.IsZero() || !s.cfg.Now().Before(s.cfg.MoveFrom)
}

// home returns the store new sessions go to: the new one once the Store
// moves sessions, the old one while it reads through.
func (s *Store) home() *side {
	if s.moving() {
		return &s.new
	}
	return &s.old
}

// Load returns the values of session id from the new store; when that does
// not have it, it moves the session over from the old one (see the package
// documentation) and returns what it moved. While the Store reads through
// it looks in the old store first and moves nothing.
func (s *Store) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if !s.moving() {
		var values map[string][]byte
		found, err := s.inPlace(func(sd *side) (found bool, err error) {
			values, found, err = sd.Load(ctx, id, ttl)
			return found, err
		})
		return values, found, err
	}
	values, found, err := s.new.Load(ctx, id, ttl)
	if err != nil || found {
		return values, found, err
	}
	values, o, err := s.moveOver(ctx, id, ttl, s.cfg.TTL)
	switch {
	case err != nil:
		return nil, false, err
	case o == moved || o == left:
		return values, true, nil
	case o == undone:
		return nil, false, nil
	}
	// Absent from the old store, or moved by another call: a move that
	// ended between the two looks put it in the new store.
	return s.new.Load(ctx, id, ttl)
}

// Create stores a new session in the new store (in the old one while the
// Store reads through). Only that store is asked whether id is in use: an
// ID is 122 random bits, so one the other store holds would be a bug in
// the ID's maker, not a clash worth a call to the other store.
func (s *Store) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.home().Create(ctx, id, values, ttl, maxKeys)
}

// Update applies d to session id in the new store, moving the session
// there first when it is still in the old one. A ttl of zero or less
// deletes the session from both stores.
func (s *Store) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	_, found, err := s.Apply(ctx, id, d, ttl, maxKeys)
	return found, err
}

// Apply applies d, Add and Take included, to session id in the new store,
// moving the session there first when it is still in the old one, so that
// an Add or a Take happens once, in the store the session is used in from
// then on. A ttl of zero or less deletes the session from both stores.
func (s *Store) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if ttl <= 0 {
		found, err := s.Delete(ctx, id)
		return nil, found, err
	}
	var values map[string][]byte
	found, err := s.use(ctx, id, ttl, func(sd *side) (found bool, err error) {
		values, found, err = sd.Apply(ctx, id, d, ttl, maxKeys)
		return found, err
	})
	return values, found, err
}

// Move gives session from the ID to in the new store, moving it there from
// the old one first when it is still there. Like Create, it asks only the
// new store whether to is in use. A ttl of zero or less deletes from from
// both stores and stores nothing under to.
func (s *Store) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return s.Delete(ctx, from)
	}
	return s.use(ctx, from, ttl, func(sd *side) (bool, error) {
		return sd.Move(ctx, from, to, d, ttl, maxKeys)
	})
}

// Touch sets the time to live of session id in the new store, moving the
// session there first, with ttl, when it is still in the old one. A ttl of
// zero or less deletes it from both stores.
func (s *Store) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return s.Delete(ctx, id)
	}
	if !s.moving() {
		return s.inPlace(func(sd *side) (bool, error) { return sd.Touch(ctx, id, ttl) })
	}
	found, err := s.new.Touch(ctx, id, ttl)
	if err != nil || found {
		return found, err
	}
	_, o, err := s.moveOver(ctx, id, ttl, ttl)
	switch {
	case err != nil:
		return false, err
	case o == moved: // the copy has ttl already
		return true, nil
	case o == undone:
		return false, nil
	}
	return s.new.Touch(ctx, id, ttl)
}

// Delete removes session id from the old store, then from the new one, and
// reports whether either had it. The order is what lets a concurrent move
// see that the session ended and undo its copy (see the package
// documentation).
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	inOld, err := s.old.Delete(ctx, id)
	if err != nil {
		return false, err
	}
	inNew, err := s.new.Delete(ctx, id)
	return inOld || inNew, err
}

// use runs op, a call that writes session id with ttl, where the session
// is: in the new store, moving it there first when only the old store has
// it (with the expiry it has there, so that an op the new store refuses
// extends nothing; with ttl when the old store cannot say). While the Store
// reads through, op runs where the session is, first looking in the old
// store. found is false when neither has it.
func (s *Store) use(ctx context.Context, id string, ttl time.Duration, op func(*side) (found bool, err error)) (bool, error) {
	if !s.moving() {
		return s.inPlace(op)
	}
	found, err := op(&s.new)
	if err != nil || found {
		return found, err
	}
	_, o, err := s.moveOver(ctx, id, 0, ttl)
	if err != nil || o == undone {
		return false, err
	}
	// Moved here, by this call or another, or absent from the old store
	// because a move ended between the two looks: op finds it now, unless
	// it ended meanwhile.
	return op(&s.new)
}

// inPlace runs op on the old store, then, if the session is not there, on
// the new one: how the Store reads through. Sessions go from the old store
// to the new one only, never back, so one that is in neither when op
// looked is gone.
func (s *Store) inPlace(op func(*side) (found bool, err error)) (bool, error) {
	found, err := op(&s.old)
	if err != nil || found {
		return found, err
	}
	return op(&s.new)
}
