package session

import (
	"context"
	"fmt"
	"time"
)

// load reads the session from the store once, renewing its expiry in the
// same round trip when a touch is due, and applies the recorded change on
// top. A store.Lender lends the values instead of copying them: they are
// copied only if the request changes them. A session that turns out to be
// gone becomes a new one that keeps the values set during this request.
// s.mu must be held.
func (s *Session) load() error {
	s.accessed = true
	if s.err != nil {
		return s.err
	}
	if s.loaded {
		return nil
	}
	now := s.m.cfg.Now()
	if s.lifetimeOver(now) {
		s.markGone()
		return nil
	}
	var ttl time.Duration
	if s.touchDue(now) {
		ttl = s.ttl(now)
	}
	var (
		vals  values
		found bool
	)
	err := s.call(false, s.storedID(), func(ctx context.Context, _ bool) (err error) {
		if s.m.lender != nil {
			vals.lent, found, err = s.m.lender.Lend(ctx, s.storedID(), ttl)
		} else {
			vals.m, found, err = s.m.store.Load(ctx, s.storedID(), ttl)
		}
		return err
	})
	if err != nil {
		if s.m.cfg.StoreDown == ProceedAnonymous {
			s.goAnonymous(s.storeError("load", err))
			return nil
		}
		s.err = s.storeError("load", err)
		return s.err
	}
	if !found {
		if s.next() {
			return s.load()
		}
		s.markGone()
		return nil
	}
	if ttl > 0 {
		s.extended(now, ttl)
	}
	if !s.change.empty() {
		s.change.applyTo(vals.own())
	}
	s.loaded, s.values = true, vals
	return nil
}

// goAnonymous turns the handle into a session-less one for the rest of the
// request, after its load failed (Config.StoreDown ProceedAnonymous): the
// changes recorded so far are refused, and the client's token is left
// alone. s.mu must be held.
func (s *Session) goAnonymous(err error) {
	s.down = true
	s.m.cfg.OnError(s.hookRequest(), err)
	if !s.change.empty() || s.state == stateRenewed {
		s.refuse("the changes made before the load")
	}
	s.state, s.id, s.from, s.login = stateNone, "", "", ""
	s.loaded, s.values = true, values{}
	s.change.reset()
}

// refuse reports a change a session-less request cannot make, and returns
// the error its method returns. s.mu must be held.
func (s *Session) refuse(what string) error {
	err := fmt.Errorf("%w: the store is down and the request runs without its session: %s not saved", ErrStore, what)
	s.m.cfg.OnError(s.hookRequest(), err)
	return err
}
