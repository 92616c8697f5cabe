package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// commit saves the session just before the response headers go out and
// sets the headers that carry the token and the expiry. A response with a
// 5xx status says the request failed: its changes are discarded and only
// its destroys are saved. An error means nothing could be promised to the
// client: the ErrorHandler answers instead.
func (s *Session) commit(h http.Header, r *http.Request, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status >= 500 {
		s.discard()
	}
	if err := s.save(); err != nil {
		return err
	}
	s.committed, s.committedID = true, s.id
	s.m.writeHeaders(s, h, r)
	return nil
}

// save applies what the request did to the store: the creation, move,
// update or touch of the current session, then the deletion of the sessions
// it ended. Saving the current session first means a failure never leaves
// the client with neither session. Each store call is bounded by
// Config.StoreTimeout but not by the request: the handler has acted, so its
// changes are saved even if the client went away. s.mu must be held.
func (s *Session) save() error {
	if s.err != nil {
		// A read failed: nothing of the change is saved, but a logout
		// needs nothing read and still ends the session.
		if err := s.endDropped(); err != nil {
			return errors.Join(s.err, err)
		}
		return s.err
	}
	if err := s.saveCurrent(); err != nil {
		return err
	}
	return s.endDropped()
}

// endDropped ends the sessions the request dropped, stopping at the first
// failure. s.mu must be held.
func (s *Session) endDropped() error {
	for len(s.drop) > 0 {
		if err := s.end(s.drop[0]); err != nil {
			return err
		}
		s.drop = s.drop[1:]
	}
	return nil
}

// saveCurrent creates, moves, updates or touches the current session as
// needed. s.mu must be held.
func (s *Session) saveCurrent() error {
	now := s.m.cfg.Now()
	if s.inStore() && s.lifetimeOver(now) {
		// Reached its Lifetime during the request: end it here and give
		// the writes a new session, which starts a new Lifetime.
		s.drop = append(s.drop, dropped{id: s.storedID()})
		s.markGone()
	}
	switch s.state {
	case stateNew:
		return s.create(now)
	case stateRenewed:
		return s.move(now)
	case stateStored:
		if !s.change.empty() {
			return s.update(now)
		}
		if s.touchDue(now) {
			return s.touch(now)
		}
	}
	return nil
}

// create stores a new session if it holds values; an empty one costs
// nothing. OnCreated runs first, Config.MaxSessions is checked, and a login
// is held to Config.MaxUserSessions. s.mu must be held.
func (s *Session) create(now time.Time) error {
	if len(s.change.setValues()) == 0 {
		s.reset()
		return nil
	}
	if err := s.checkUserLimit(now); err != nil {
		return err
	}
	if err := s.reserve(s.m.cfg.MaxSessions); err != nil {
		return err
	}
	reserved := s.id
	s.runOnCreated()
	if s.state != stateNew || len(s.change.setValues()) == 0 {
		// OnCreated destroyed the session, or removed what it held: there
		// is nothing to store (its reservation lapses after a grace period).
		if s.state == stateNew {
			s.reset()
		}
		return nil
	}
	if s.id != reserved { // OnCreated renewed it
		if err := s.reserve(s.m.cfg.MaxSessions); err != nil {
			return err
		}
	}
	ttl := s.ttl(now)
	values := s.change.setValues()
	err := s.call(true, s.id, func(ctx context.Context, retry bool) error {
		err := s.m.store.Create(ctx, s.id, values, ttl, s.m.cfg.MaxKeys)
		if retry && errors.Is(err, store.ErrExists) {
			return nil // the first try stored it: IDs are 128 random bits
		}
		return err
	})
	if err != nil {
		return s.storeError("create", err)
	}
	s.reached(outcomeNew)
	s.m.obs.sessionCreated(s.hookContext())
	s.stored(now, ttl)
	return nil
}

// runOnCreated calls Config.OnCreated, which may Set values, without s.mu:
// the hook calls the Session's methods. s.mu must be held.
func (s *Session) runOnCreated() {
	hook := s.m.cfg.OnCreated
	if hook == nil {
		return
	}
	id := s.id
	s.mu.Unlock()
	err := runHook(func() error { return hook(s.hookContext(), s) }, id)
	s.mu.Lock()
	if err != nil {
		s.m.cfg.OnError(s.hookRequest(), fmt.Errorf("session: OnCreated: %w", err))
	}
}

// reserve counts the session toward Config.MaxSessions before it is stored,
// or refuses it; max 0 counts it without a limit. It does nothing when
// MaxSessions is off. s.mu must be held.
func (s *Session) reserve(max int) error {
	m := s.m
	if m.cfg.MaxSessions <= 0 {
		return nil
	}
	var ok bool
	err := s.call(true, s.id, func(ctx context.Context, _ bool) (err error) {
		ok, err = m.limiter.Reserve(ctx, s.id, max)
		return err
	})
	if err != nil {
		return s.storeError("reserve", err)
	}
	if ok {
		return nil
	}
	if m.cfg.OnMaxSessions == nil || !m.cfg.OnMaxSessions(s.hookRequest()) {
		return fmt.Errorf("%w: the limit (Config.MaxSessions) is %d", store.ErrMaxSessions, m.cfg.MaxSessions)
	}
	return s.reserve(0)
}

// move gives the stored session its new ID with the change applied, in one
// atomic store call (Renew). If the session ended meanwhile, the change
// goes to a fresh session instead. s.mu must be held.
func (s *Session) move(now time.Time) error {
	if err := s.checkUserLimit(now); err != nil {
		return err
	}
	if err := s.reserve(0); err != nil {
		return err
	}
	ttl := s.ttl(now)
	var found bool
	err := s.call(true, s.from, func(ctx context.Context, retry bool) (err error) {
		found, err = s.m.store.Move(ctx, s.from, s.id, s.change.d, ttl, s.m.cfg.MaxKeys)
		if retry && err == nil && !found {
			// The first try may have moved it and then failed to answer.
			_, found, err = s.m.store.Load(ctx, s.id, 0)
		}
		return err
	})
	if err != nil {
		s.moveUnsure = isTimeout(err)
		return s.storeError("renew", err)
	}
	if !found {
		s.markGone()
		return s.create(now)
	}
	s.reached(outcomeSaved)
	s.stored(now, ttl)
	return nil
}

// isTimeout reports whether err is a store call that ran out of time, and so
// may still be carried out: a stalled store runs what it received when it
// recovers.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// headersAfterFailure gives the client, on the ErrorHandler's answer, the
// new token of a renewal whose store call timed out: the store runs the move
// when it recovers, and the client would otherwise hold only the old ID,
// which then names nothing. Should the move never happen, the new token
// names nothing and the client starts over, as it would have anyway.
func (s *Session) headersAfterFailure(h http.Header, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.moveUnsure {
		return
	}
	now := s.m.cfg.Now()
	s.state, s.from, s.tok = stateStored, "", tokenValid
	s.extended(now, s.ttl(now))
	s.m.writeHeaders(s, h, r)
}

// update saves the change to the stored session and renews its expiry. If
// the session ended since the token was issued, the writes go to a fresh
// session rather than bring the old one back or be lost. s.mu must be held.
func (s *Session) update(now time.Time) error {
	ttl := s.ttl(now)
	found, err := s.updateStored(ttl)
	if err != nil {
		return s.storeError("update", err)
	}
	if !found {
		if s.next() {
			return s.update(now)
		}
		s.markGone()
		return s.create(now)
	}
	s.reached(outcomeSaved)
	// A young token keeps serving, as for a touch: signing a new one on
	// every write costs more than the rest of the request, and the client's
	// expiry falls short of the store's by under TouchInterval.
	if s.tokenStale(now) {
		s.extended(now, ttl)
	}
	return nil
}

// updateStored applies the change to the stored session and forgets it once
// saved. s.mu must be held.
func (s *Session) updateStored(ttl time.Duration) (found bool, err error) {
	err = s.call(true, s.id, func(ctx context.Context, _ bool) (err error) {
		found, err = s.m.store.Update(ctx, s.id, s.change.d, ttl, s.m.cfg.MaxKeys)
		return err
	})
	if err == nil && found {
		s.reached(outcomeSaved)
		s.change.reset()
	}
	return found, err
}

// touch renews the stored session's expiry. s.mu must be held.
func (s *Session) touch(now time.Time) error {
	ttl := s.ttl(now)
	var found bool
	err := s.call(true, s.id, func(ctx context.Context, _ bool) (err error) {
		found, err = s.m.store.Touch(ctx, s.id, ttl)
		return err
	})
	if err != nil {
		if s.m.cfg.StoreDown == ProceedAnonymous {
			s.goAnonymous(s.storeError("touch", err)) // a renewal missed: the session may expire a little early
			return nil
		}
		return s.storeError("touch", err)
	}
	if !found {
		if s.next() {
			return s.saveCurrent()
		}
		s.markGone()
		return nil
	}
	s.extended(now, ttl)
	return nil
}

// stored records that the session is now in the store under s.id with the
// change saved, expiring after ttl: the client needs a token for it.
// s.mu must be held.
func (s *Session) stored(now time.Time, ttl time.Duration) {
	s.state, s.from, s.login = stateStored, "", ""
	s.change.reset()
	s.extended(now, ttl)
}

// end deletes a session the request ended. A destroy runs OnDestroyed and
// tells the farm. A session that reached its Lifetime is, on a store that
// keeps expired sessions, the reaper's: its expiry fires there. s.mu must be
// held.
func (s *Session) end(d dropped) error {
	m := s.m
	if d.reason == "" && m.expirer != nil {
		return nil
	}
	var (
		found bool
		user  string
	)
	err := s.call(true, d.id, func(ctx context.Context, retry bool) (err error) {
		if m.indexer != nil {
			var info store.Info
			info, found, err = m.indexer.Remove(ctx, d.id)
			user = info.User
		} else {
			found, err = m.store.Delete(ctx, d.id)
		}
		if retry && err == nil && !found {
			// The first try failed to answer, not to remove: the session
			// was there for the request to end, so it was this request
			// that ended it.
			b, _ := s.values.get(store.UserKey)
			found, user = true, string(b)
		}
		return err
	})
	if err != nil {
		return s.storeError("delete", err)
	}
	if found && d.reason != "" {
		s.reached(outcomeSaved)
		ctx, cancel := m.saveContext(s.hookContext())
		defer cancel()
		m.destroyed(ctx, d.id, user, d.reason)
	}
	return nil
}

// hookContext is the request's context without the session in it, for the
// hooks and the store calls made while s.mu is held: one that reached for
// the request's Session then would wait forever; without it, it gets
// ErrNoMiddleware.
func (s *Session) hookContext() context.Context {
	ctx := s.req.Context()
	if sc, ok := ctx.(*sessionContext); ok {
		return sc.Context
	}
	return ctx
}

// hookRequest is the request with hookContext, for the hooks that take a
// request and run while s.mu is held.
func (s *Session) hookRequest() *http.Request {
	return s.req.WithContext(s.hookContext())
}

// call makes one store call of the request, bounded by StoreTimeout (and by
// the request, for a load), and asks Config.OnStoreError whether to make it
// once more when it fails. fn learns whether it is the second try. A
// limit the store enforced is an answer, not a failure: no retry.
//
// The error has the session's IDs redacted from its message (redactID): it
// may reach logs.
func (s *Session) call(save bool, id string, fn func(ctx context.Context, retry bool) error) (err error) {
	defer func() { err = redactID(err, id, s.id, s.from) }()
	try := func(retry bool) error {
		var ctx context.Context
		var cancel context.CancelFunc
		if save {
			ctx, cancel = s.m.saveContext(s.hookContext())
		} else {
			ctx, cancel = s.m.loadContext(s.hookContext())
		}
		defer cancel()
		return fn(ctx, retry)
	}
	err = try(false)
	if once, ok := err.(onceError); ok {
		return once.error
	}
	if err == nil || errors.Is(err, store.ErrTooManyKeys) || s.m.cfg.OnStoreError == nil {
		return err
	}
	if !s.m.cfg.OnStoreError(s.hookRequest(), id, err) {
		return err
	}
	return try(true)
}

// finish runs when the handler returns after the headers went out. Changes
// made since are saved when the client's token still names the session;
// otherwise they cannot be, and OnError hears of it, with no lock held, so
// that it may use the Session. When the request failed (a 5xx status, a
// panic) they are discarded, as at the commit. Destroys are always carried
// out.
func (s *Session) finish(r *http.Request, failed bool) {
	for _, err := range s.finishLocked(failed) {
		s.m.cfg.OnError(r, err)
	}
}

// finishLocked is finish under s.mu; it returns what OnError must hear.
func (s *Session) finishLocked(failed bool) (reports []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if failed {
		s.discard()
	}
	// Deletions need nothing loaded: a logout after a failed read still ends
	// the session.
	for _, d := range s.drop {
		if err := s.end(d); err != nil {
			reports = append(reports, fmt.Errorf("session: end a session after the response: %w", err))
		}
	}
	s.drop = nil
	if s.change.empty() && s.state != stateNew {
		return reports
	}
	now := s.m.cfg.Now()
	switch {
	case s.err != nil:
		// A read failed after the headers went out; the ErrorHandler could
		// not answer, so the change is reported rather than half-applied.
		return append(reports, fmt.Errorf("session: change after response not saved: %w", s.err))
	case s.state != stateStored || s.id != s.committedID:
		return append(reports, ErrHeadersSent)
	case s.lifetimeOver(now):
		return append(reports, errors.New("session: change after response not saved: the session reached its Lifetime"))
	}
	found, err := s.updateStored(s.ttl(now))
	switch {
	case err != nil:
		reports = append(reports, fmt.Errorf("session: change after response not saved: %w", s.storeError("update", err)))
	case !found:
		reports = append(reports, errors.New("session: change after response not saved: the session expired meanwhile"))
	}
	s.change.reset()
	return reports
}

// abandon runs when the handler panicked (or called runtime.Goexit): what
// it changed is discarded, since it may be half-done, but the sessions it
// destroyed are ended, so that a logout is never lost. OnError hears of a
// discarded change.
func (s *Session) abandon(r *http.Request) {
	s.mu.Lock()
	pending := !s.change.empty() || s.state == stateNew || s.state == stateRenewed
	s.discard()
	s.mu.Unlock()
	s.finish(r, true)
	if pending {
		s.m.cfg.OnError(r, errors.New("session: the handler panicked: its changes to the session were not saved"))
	}
}

// storeError wraps a store failure in ErrStore, and makes it the request's
// outcome; a limit the store enforced is not a failure and keeps its own
// identity. s.mu must be held.
func (s *Session) storeError(op string, err error) error {
	if errors.Is(err, store.ErrTooManyKeys) {
		return fmt.Errorf("%w: the limit (Config.MaxKeys) applies to the stored session", err)
	}
	s.reached(outcomeStoreError)
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}
