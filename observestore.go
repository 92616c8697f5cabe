package session

import (
	"context"
	"errors"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// storeOp is a store call, the session.operation of session.store.duration
// and of the store's spans.
type storeOp uint8

const (
	opLoad storeOp = iota
	opCreate
	opUpdate
	opApply
	opMove
	opTouch
	opDelete
	opCount
	opList
	opPeek
	opRemove
	opUserSessions
	opClaimExpired
	opReap
	opReserve
	opPublish
	numOps
)

// String returns the operation's name: the store method's, in snake case.
func (op storeOp) String() string {
	return [...]string{"load", "create", "update", "apply", "move", "touch", "delete",
		"count", "list", "peek", "remove", "user_sessions", "claim_expired", "reap", "reserve", "publish"}[op]
}

// callOutcome is how a store call ended, its session.outcome.
type callOutcome uint8

const (
	callOK       callOutcome = iota
	callNotFound             // the session did not exist (found false)
	callRefused              // the store said no: a limit (MaxKeys, MaxSessions), a value that is not an integer, an ID in use
	callError                // the store failed: down, slow, canceled
	numCallOutcomes
)

// String returns the outcome's session.outcome value.
func (res callOutcome) String() string {
	return [...]string{"ok", "not_found", "refused", "error"}[res]
}

// callOutcomeOf classifies a store call by what it returned.
func callOutcomeOf(found bool, err error) callOutcome {
	switch {
	case err == nil && found:
		return callOK
	case err == nil:
		return callNotFound
	case errors.Is(err, store.ErrTooManyKeys), errors.Is(err, store.ErrNotInteger),
		errors.Is(err, store.ErrExists), errors.Is(err, store.ErrMaxSessions):
		return callRefused
	}
	return callError
}

// observe wraps the store and each capability the Manager found in it, when
// Config.MeterProvider or Config.TracerProvider is set, so that every store
// call is measured and traced. Each capability is wrapped on its own, so the
// Manager keeps exactly the capabilities the store has. Without providers
// the Manager calls the store directly.
func (m *Manager) observe() error {
	m.store = m.cfg.Store
	o, err := newObserver(m.cfg, m.indexer)
	if o == nil || err != nil {
		return err
	}
	m.obs = o
	m.store = observedStore{m.cfg.Store, o}
	if m.lender != nil {
		m.lender = observedLender{observedStore{m.lender, o}, m.lender}
	}
	if m.indexer != nil {
		m.indexer = observedIndexer{observedStore{m.indexer, o}, m.indexer}
	}
	if m.expirer != nil {
		m.expirer = observedExpirer{m.expirer, o}
	}
	if m.limiter != nil {
		m.limiter = observedLimiter{m.limiter, o}
	}
	if m.notifier != nil {
		m.notifier = observedNotifier{m.notifier, o}
	}
	return nil
}

// observedStore measures and traces the calls of a store.Store.
type observedStore struct {
	s store.Store
	o *observer
}

func (w observedStore) Load(ctx context.Context, id string, ttl time.Duration) (values map[string][]byte, found bool, err error) {
	ctx, c := w.o.begin(ctx, opLoad)
	values, found, err = w.s.Load(ctx, id, ttl)
	c.end(ctx, found, err, id)
	return values, found, err
}

func (w observedStore) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	ctx, c := w.o.begin(ctx, opCreate)
	err := w.s.Create(ctx, id, values, ttl, maxKeys)
	c.end(ctx, true, err, id)
	return err
}

func (w observedStore) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (found bool, err error) {
	ctx, c := w.o.begin(ctx, opUpdate)
	found, err = w.s.Update(ctx, id, d, ttl, maxKeys)
	c.end(ctx, found, err, id)
	return found, err
}

func (w observedStore) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (values map[string][]byte, found bool, err error) {
	ctx, c := w.o.begin(ctx, opApply)
	values, found, err = w.s.Apply(ctx, id, d, ttl, maxKeys)
	c.end(ctx, found, err, id)
	return values, found, err
}

func (w observedStore) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (found bool, err error) {
	ctx, c := w.o.begin(ctx, opMove)
	found, err = w.s.Move(ctx, from, to, d, ttl, maxKeys)
	c.end(ctx, found, err, from, to)
	return found, err
}

func (w observedStore) Touch(ctx context.Context, id string, ttl time.Duration) (found bool, err error) {
	ctx, c := w.o.begin(ctx, opTouch)
	found, err = w.s.Touch(ctx, id, ttl)
	c.end(ctx, found, err, id)
	return found, err
}

func (w observedStore) Delete(ctx context.Context, id string) (found bool, err error) {
	ctx, c := w.o.begin(ctx, opDelete)
	found, err = w.s.Delete(ctx, id)
	c.end(ctx, found, err, id)
	return found, err
}

// observedLender measures and traces the calls of a store.Lender. A Lend is
// a load: it is measured as one.
type observedLender struct {
	observedStore
	l store.Lender
}

func (w observedLender) Lend(ctx context.Context, id string, ttl time.Duration) (values store.View, found bool, err error) {
	ctx, c := w.o.begin(ctx, opLoad)
	values, found, err = w.l.Lend(ctx, id, ttl)
	c.end(ctx, found, err, id)
	return values, found, err
}

// observedIndexer measures and traces the calls of a store.Indexer.
type observedIndexer struct {
	observedStore
	ix store.Indexer
}

func (w observedIndexer) Indexed() bool { return w.ix.Indexed() }

func (w observedIndexer) Count(ctx context.Context) (n int, err error) {
	ctx, c := w.o.begin(ctx, opCount)
	n, err = w.ix.Count(ctx)
	c.end(ctx, true, err)
	return n, err
}

func (w observedIndexer) List(ctx context.Context, cursor string, limit int) (page []store.Info, next string, err error) {
	ctx, c := w.o.begin(ctx, opList)
	page, next, err = w.ix.List(ctx, cursor, limit)
	c.end(ctx, true, err, cursor) // the cursor is a session ID in some stores
	return page, next, err
}

func (w observedIndexer) Peek(ctx context.Context, id string) (rec store.Record, found bool, err error) {
	ctx, c := w.o.begin(ctx, opPeek)
	rec, found, err = w.ix.Peek(ctx, id)
	c.end(ctx, found, err, id)
	return rec, found, err
}

func (w observedIndexer) Remove(ctx context.Context, id string) (info store.Info, found bool, err error) {
	ctx, c := w.o.begin(ctx, opRemove)
	info, found, err = w.ix.Remove(ctx, id)
	c.end(ctx, found, err, id)
	return info, found, err
}

func (w observedIndexer) UserSessions(ctx context.Context, user string) (infos []store.Info, err error) {
	ctx, c := w.o.begin(ctx, opUserSessions)
	infos, err = w.ix.UserSessions(ctx, user)
	c.end(ctx, true, err)
	return infos, err
}

// observedExpirer measures and traces the calls of a store.Expirer.
type observedExpirer struct {
	ex store.Expirer
	o  *observer
}

func (w observedExpirer) ClaimExpired(ctx context.Context, limit int, lease time.Duration) (recs []store.Record, err error) {
	ctx, c := w.o.begin(ctx, opClaimExpired)
	recs, err = w.ex.ClaimExpired(ctx, limit, lease)
	c.end(ctx, true, err)
	return recs, err
}

func (w observedExpirer) Reap(ctx context.Context, ids ...string) error {
	ctx, c := w.o.begin(ctx, opReap)
	err := w.ex.Reap(ctx, ids...)
	c.end(ctx, true, err, ids...)
	return err
}

// observedLimiter measures and traces the calls of a store.Limiter. A
// refused reservation is outcome "refused".
type observedLimiter struct {
	l store.Limiter
	o *observer
}

func (w observedLimiter) Reserve(ctx context.Context, id string, max int) (ok bool, err error) {
	ctx, c := w.o.begin(ctx, opReserve)
	ok, err = w.l.Reserve(ctx, id, max)
	if err == nil && !ok {
		c.end(ctx, true, store.ErrMaxSessions)
	} else {
		c.end(ctx, true, err, id)
	}
	return ok, err
}

// observedNotifier measures and traces Publish; a subscription is one
// long call, not measured.
type observedNotifier struct {
	n store.Notifier
	o *observer
}

func (w observedNotifier) Publish(ctx context.Context, e store.Event) error {
	ctx, c := w.o.begin(ctx, opPublish)
	err := w.n.Publish(ctx, e)
	c.end(ctx, true, err, e.ID)
	return err
}

func (w observedNotifier) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	return w.n.Subscribe(ctx, fn)
}
