package session

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// start makes the handle for a request from its token, without any store
// call: a missing or bad token means no session, a good one a session that is
// presumed to exist until the store says otherwise.
func (m *Manager) start(s *Session, r *http.Request) {
	s.m, s.ctx = m, r.Context()
	raw, fromHeader := m.readToken(r)
	s.fromHeader, s.cookieSent = fromHeader, raw != "" && !fromHeader
	s.loaded = true // a new session holds nothing; a stored one is loaded lazily
	if raw == "" {
		return
	}
	vt := m.verify(raw)
	if vt == nil {
		s.badToken = true
		return
	}
	s.hadToken = true
	s.created = vt.created
	if s.lifetimeOver(m.cfg.Now()) {
		s.gone = true // past its absolute Lifetime: gone for sure, no need to ask
		return
	}
	s.id, s.issued = vt.id, vt.issued
	s.expires, s.tokenExpires = m.expiry(vt.created, vt.issued), vt.expires
	s.stored, s.loaded = true, false
}

// commit saves the session before the response headers go out and sets the
// headers that carry the token and the expiry. An error means nothing could
// be promised to the client: the ErrorHandler answers instead.
func (s *Session) commit(h http.Header, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.save(); err != nil {
		return err
	}
	s.committed, s.committedID = true, s.id
	s.m.writeHeaders(s, h, r)
	return nil
}

// save applies what the request did to the store: creation, update or touch
// of the current session, then deletion of the IDs it replaced. Creating
// first means a failure never leaves the client with neither session. Each
// store call is bounded by Config.StoreTimeout but not by the request: the
// handler has acted, so its changes are saved even if the client went away.
// s.mu must be held.
func (s *Session) save() error {
	if s.err != nil {
		return s.err
	}
	if err := s.saveCurrent(); err != nil {
		return err
	}
	for len(s.drop) > 0 {
		if err := s.deleteStored(s.drop[0]); err != nil {
			return storeError("delete", err)
		}
		s.drop = s.drop[1:]
	}
	return nil
}

// saveCurrent creates, updates or touches the current session as needed.
func (s *Session) saveCurrent() error {
	m := s.m
	now := m.cfg.Now()
	if s.id != "" && s.stored && s.lifetimeOver(now) {
		// Reached its Lifetime during the request: the store would delete
		// it on a zero ttl, so end it here and give the writes a new one.
		s.drop = append(s.drop, s.id)
		s.markGone()
	}
	switch {
	case s.id == "":
		return nil
	case !s.stored:
		return s.create(now)
	case !s.change.Empty():
		ttl := s.ttl(now)
		found, err := s.update(ttl)
		if err != nil {
			return storeError("update", err)
		}
		if !found {
			// Gone since the token was issued: the writes go to a fresh
			// session rather than bring the old one back or be lost.
			s.markGone()
			return s.create(now)
		}
		// A young token keeps serving, as for a touch: signing a new one on
		// every write costs more than the rest of the request, and the
		// client's expiry falls short of the store's by under TouchInterval.
		if s.tokenStale(now) {
			s.renewed(now, ttl)
		}
	case s.touchDue(now):
		ttl := s.ttl(now)
		ctx, cancel := m.storeContext(s.ctx, true)
		found, err := m.cfg.Store.Touch(ctx, s.id, ttl)
		cancel()
		if err != nil {
			return storeError("touch", err)
		}
		if !found {
			s.markGone()
			return nil
		}
		s.renewed(now, ttl)
	}
	return nil
}

// create stores a new session if it holds values. s.mu must be held.
func (s *Session) create(now time.Time) error {
	if len(s.values) == 0 {
		s.reset() // lazy creation: an empty new session costs nothing
		return nil
	}
	m := s.m
	ttl := s.ttl(now)
	if ttl <= 0 {
		s.created = now // a session renewed past its Lifetime starts a new one
		ttl = m.expiry(now, now).Sub(now)
	}
	ctx, cancel := m.storeContext(s.ctx, true)
	err := m.cfg.Store.Create(ctx, s.id, s.values, ttl, m.cfg.MaxKeys)
	cancel()
	if err != nil {
		return storeError("create", err)
	}
	s.stored = true
	s.change, s.del = store.Delta{}, nil
	s.renewed(now, ttl)
	return nil
}

// update saves the recorded change with a new time to live, and forgets it
// once saved. s.mu must be held.
func (s *Session) update(ttl time.Duration) (found bool, err error) {
	ctx, cancel := s.m.storeContext(s.ctx, true)
	found, err = s.m.cfg.Store.Update(ctx, s.id, s.change, ttl, s.m.cfg.MaxKeys)
	cancel()
	if err == nil && found {
		s.change, s.del = store.Delta{}, nil
	}
	return found, err
}

// deleteStored deletes a session from the store.
func (s *Session) deleteStored(id string) error {
	ctx, cancel := s.m.storeContext(s.ctx, true)
	defer cancel()
	return s.m.cfg.Store.Delete(ctx, id)
}

// Header values shared by every response that needs them; addHeader never
// lets an append write into them.
var (
	varyCookieAndHeader = []string{"Cookie", HeaderID}
	varyCookie          = []string{"Cookie"}
	varyHeader          = []string{HeaderID}
	exposeExpires       = []string{HeaderExpires}
	exposeBoth          = []string{HeaderID + ", " + HeaderExpires}
	cacheNoSetCookie    = []string{`no-cache="Set-Cookie"`}
	emptyValue          = []string{""}
	cacheNoSessionID    = []string{`no-cache="Session-Id"`}
)

// addHeader adds shared values to h[key] without copying them when the key
// is new, and without ever appending into them.
func addHeader(h http.Header, key string, values []string) {
	if old, ok := h[key]; ok {
		h[key] = append(old, values...)
		return
	}
	h[key] = values[:len(values):len(values)]
}

// writeHeaders tells the client about its session: a new token when one was
// issued, the expiry whenever there is a session, an expired cookie when the
// one it sent is of no use any more. s.mu must be held.
func (m *Manager) writeHeaders(s *Session, h http.Header, r *http.Request) {
	cookies := m.cfg.Transport != TransportHeader && !s.fromHeader
	// The token goes in a header only to clients of the header protocol, and
	// to a request that came with no cookie (a new client of either kind):
	// never to a cookie client, or any script on the page could read the
	// token of an HttpOnly session.
	headers := m.cfg.Transport == TransportHeader ||
		m.cfg.Transport == TransportBoth && (s.fromHeader || !s.cookieSent)
	// Only a cross-origin script needs the session headers exposed, and its
	// requests always carry Origin; same-origin scripts read every header.
	_, cors := r.Header["Origin"]
	if s.hadToken || s.badToken || s.id != "" || s.accessed {
		switch {
		case cookies && headers:
			addHeader(h, "Vary", varyCookieAndHeader)
		case cookies:
			addHeader(h, "Vary", varyCookie)
		default:
			addHeader(h, "Vary", varyHeader)
		}
	}
	if s.id == "" || !s.stored {
		switch {
		case !s.hadToken && !s.badToken:
		case cookies:
			m.setCookie(h, r, "", time.Time{}, time.Time{})
			addHeader(h, "Cache-Control", cacheNoSetCookie)
		case s.fromHeader:
			// An empty Session-Id says "the token you sent is of no use":
			// a client can forget it without guessing from absent headers.
			h[HeaderID] = emptyValue
			if cors {
				addHeader(h, "Access-Control-Expose-Headers", exposeBoth)
			}
		}
		return
	}
	if !s.reissue {
		h[HeaderExpires] = s.tokenExpires
		if cors && m.cfg.Transport != TransportCookie {
			addHeader(h, "Access-Control-Expose-Headers", exposeExpires)
		}
		return
	}
	s.reissue = false
	expires := []string{formatExpires(s.expires)}
	h[HeaderExpires] = expires
	t := token{id: s.id, created: s.created, issued: s.issued}
	tok, err := m.tokens.encode(t)
	if err != nil {
		m.cfg.OnError(r, err)
		return
	}
	// The client sends it back next: it need not be verified again.
	m.cache.put(tok, &verifiedToken{token: t, expires: expires})
	if cookies {
		m.setCookie(h, r, tok, s.expires, m.cfg.Now())
		addHeader(h, "Cache-Control", cacheNoSetCookie)
	}
	switch {
	case headers:
		h.Set(HeaderID, tok)
		addHeader(h, "Cache-Control", cacheNoSessionID)
		if cors {
			addHeader(h, "Access-Control-Expose-Headers", exposeBoth)
		}
	case cors && m.cfg.Transport != TransportCookie:
		addHeader(h, "Access-Control-Expose-Headers", exposeExpires)
	}
}

// finish runs when the handler returns after the headers went out: changes
// made since are saved when the client's token still names the session;
// otherwise they cannot be, and OnError hears of it.
func (s *Session) finish(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	// Deletions need nothing loaded: a logout after a failed read still ends
	// the session.
	for _, id := range s.drop {
		if err := s.deleteStored(id); err != nil {
			m.cfg.OnError(r, storeError("delete after response", err))
		}
	}
	s.drop = nil
	now := m.cfg.Now()
	switch {
	case s.id == "" || (s.id == s.committedID && s.change.Empty()):
		return
	case s.err != nil:
		// A read failed after the headers went out; the ErrorHandler could
		// not answer, so the change is reported rather than half-applied.
		m.cfg.OnError(r, fmt.Errorf("session: change after response not saved: %w", s.err))
		return
	case s.id != s.committedID || !s.stored:
		m.cfg.OnError(r, ErrHeadersSent)
		return
	case s.lifetimeOver(now):
		m.cfg.OnError(r, errors.New("session: change after response not saved: the session reached its Lifetime"))
		return
	}
	found, err := s.update(s.ttl(now))
	switch {
	case err != nil:
		m.cfg.OnError(r, fmt.Errorf("session: change after response not saved: %w", storeError("update", err)))
	case !found:
		m.cfg.OnError(r, errors.New("session: change after response not saved: the session expired meanwhile"))
	}
	s.change, s.del = store.Delta{}, nil
}
