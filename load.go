package session

import "time"

// load reads the session from the store once, renewing its expiry in the
// same round trip when a touch is due, and applies the recorded change on
// top. A session that turns out to be gone becomes a new one that keeps the
// values set during this request. s.mu must be held.
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
	ctx, cancel := s.m.loadContext(s.ctx)
	values, found, err := s.m.cfg.Store.Load(ctx, s.storedID(), ttl)
	cancel()
	if err != nil {
		s.err = storeError("load", err)
		return s.err
	}
	if !found {
		s.markGone()
		return nil
	}
	if ttl > 0 {
		s.renewed(now, ttl)
	}
	if values == nil { // a store may answer an empty session so
		values = make(map[string][]byte, len(s.change.d.Set))
	}
	s.change.applyTo(values)
	s.loaded, s.values = true, values
	return nil
}

// expiry returns when a session created at created and touched at now
// expires: IdleTimeout from now, but never past Config.Lifetime.
func (m *Manager) expiry(created, now time.Time) time.Time {
	e := now.Add(m.cfg.IdleTimeout)
	if m.cfg.Lifetime > 0 {
		if end := created.Add(m.cfg.Lifetime); end.Before(e) {
			return end
		}
	}
	return e
}

// ttl is how long the session lives from now if nothing else happens:
// Config.IdleTimeout, cut short by Config.Lifetime.
func (s *Session) ttl(now time.Time) time.Duration {
	return s.m.expiry(s.created, now).Sub(now)
}

// lifetimeOver reports whether the session has reached Config.Lifetime.
func (s *Session) lifetimeOver(now time.Time) bool {
	return s.ttl(now) <= 0
}

// touchDue reports whether the store's expiry should be renewed now: the
// client's token, and so the expiry, is older than Config.TouchInterval.
func (s *Session) touchDue(now time.Time) bool {
	return s.state == stateStored && !s.reissue && s.tokenStale(now)
}

// tokenStale reports whether the client's token is older than
// Config.TouchInterval, and so worth replacing when the expiry moves.
func (s *Session) tokenStale(now time.Time) bool {
	return now.Sub(s.issued) >= s.m.cfg.TouchInterval
}

// renewed records that the store's expiry was just set to now+ttl: the
// client needs a new token saying so.
func (s *Session) renewed(now time.Time, ttl time.Duration) {
	s.expires, s.issued, s.reissue = now.Add(ttl), now, true
}
