package session

import "time"

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
	// Without a Lifetime the ttl is IdleTimeout, never zero or less: no
	// need to work it out, twice a request.
	return s.m.cfg.Lifetime > 0 && s.ttl(now) <= 0
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

// extended records that the store's expiry was just set to now+ttl: the
// client needs a new token saying so.
func (s *Session) extended(now time.Time, ttl time.Duration) {
	s.expires, s.issued, s.reissue = now.Add(ttl), now, true
}
