package session

import (
	"context"
	"time"
)

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
	var (
		values map[string][]byte
		found  bool
	)
	err := s.call(false, s.storedID(), func(ctx context.Context, _ bool) (err error) {
		values, found, err = s.m.cfg.Store.Load(ctx, s.storedID(), ttl)
		return err
	})
	if err != nil {
		s.err = storeError("load", err)
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
	if values == nil { // a store may answer an empty session so
		values = make(map[string][]byte, len(s.change.d.Set))
	}
	s.change.applyTo(values)
	s.loaded, s.values = true, values
	return nil
}
