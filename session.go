package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// A Session is the handle a request has on its session. The middleware puts
// one into every request; get it with FromContext.
//
// It is lazy: nothing is read from the store until the handler reads a value,
// and writes are recorded as a change that is saved once, when the response
// starts. A new session is stored only once it holds a value.
//
// A Session is safe for concurrent use by the goroutines of one request. Like
// the ResponseWriter, it must not be used after the handler returns: changes
// made then are never saved.
type Session struct {
	m  *Manager
	mu sync.Mutex // protects everything below

	ctx     context.Context
	id      string    // "" while there is no session
	created time.Time // start of the session, for Config.Lifetime
	issued  time.Time // when the client's token was issued; the store's expiry was set then
	expires time.Time // the session's expiry as last set or known
	// tokenExpires is the shared Session-Expires value of the client's token,
	// right while the expiry has not moved since it was issued.
	tokenExpires []string
	stored       bool // id names a session believed to be in the store
	hadToken     bool // a validly signed token came with the request
	gone         bool // that token's session turned out to be expired or destroyed
	fromHeader   bool // the client speaks the Session-Id header protocol
	cookieSent   bool // the request carried a session cookie, valid or not
	badToken     bool // a token came that did not verify

	loaded  bool                // values holds the store's values with the change applied
	values  map[string][]byte   // valid when loaded
	change  store.Delta         // recorded writes, saved at commit
	del     map[string]struct{} // keys in change.Del
	reissue bool                // the expiry moved: the client needs a new token
	drop    []string            // IDs to delete from the store at commit
	err     error               // first store error: the response becomes the ErrorHandler's

	committed   bool   // the response headers went out
	committedID string // the ID the client holds after the headers went out
	accessed    bool   // the handler read the session: the response depends on it
}

// ID returns the session ID, or "" while there is no session. A new session
// gets its ID when it first receives a value. The ID is secret: log it with
// care.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// IsNew reports whether the request came without a live session: no token, a
// token that did not verify, or one whose session had expired or been
// destroyed. Only the last case needs a store round trip to tell, so IsNew
// loads the session if it was not loaded yet.
func (s *Session) IsNew() (bool, error) {
	if s == nil {
		return false, ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return false, err
	}
	return !s.hadToken || s.gone, nil
}

// ExpiresAt returns when the session expires if no further request comes, or
// the zero time while there is no session.
func (s *Session) ExpiresAt() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		return time.Time{}
	}
	if !s.stored {
		return s.m.expiry(s.created, s.m.cfg.Now())
	}
	return s.expires
}

// Get decodes the value stored under key into v, which must be a pointer. ok
// is false, with a nil error, when there is no such key. The first read of a
// request loads the session; an error then means the store failed, and the
// response will be replaced by the ErrorHandler's.
func (s *Session) Get(key string, v any) (ok bool, err error) {
	b, ok, err := s.raw(key)
	if !ok || err != nil {
		return false, err
	}
	if err := s.m.cfg.Codec.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("session: decode %q: %w", key, err)
	}
	return true, nil
}

// Get returns the value stored under key as a T. ok is false, with a nil
// error, when there is no such key.
//
//	user, ok, err := session.Get[string](s, "user")
func Get[T any](s *Session, key string) (v T, ok bool, err error) {
	ok, err = s.Get(key, &v)
	return v, ok, err
}

// raw returns the encoded value of key, loading the session if needed.
func (s *Session) raw(key string) ([]byte, bool, error) {
	if s == nil {
		return nil, false, ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Read-your-writes needs no round trip.
	if b, ok := s.change.Set[key]; ok {
		return b, true, nil
	}
	if _, ok := s.del[key]; ok || s.change.Clear {
		return nil, false, nil
	}
	if err := s.load(); err != nil {
		return nil, false, err
	}
	b, ok := s.values[key]
	return b, ok, nil
}

// Set stores v under key, encoded at once with the Codec: encoding errors
// surface here, and later changes to v do not reach the session. It fails
// with ErrInvalidKey, ErrValueTooLarge or ErrTooManyKeys beyond the limits in
// Config. The change is saved when the response starts.
func (s *Session) Set(key string, v any) error {
	if s == nil {
		return ErrNoMiddleware
	}
	if err := s.m.checkKey(key); err != nil {
		return err
	}
	b, err := s.m.cfg.Codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode %q: %w", key, err)
	}
	if len(b) > s.m.cfg.MaxValueSize {
		return fmt.Errorf("%w: %q encodes to %d bytes, the limit (Config.MaxValueSize) is %d", ErrValueTooLarge, key, len(b), s.m.cfg.MaxValueSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		if _, exists := s.values[key]; !exists && len(s.values) >= s.m.cfg.MaxKeys {
			return fmt.Errorf("%w: the limit (Config.MaxKeys) is %d", ErrTooManyKeys, s.m.cfg.MaxKeys)
		}
		if s.values == nil {
			s.values = make(map[string][]byte)
		}
		s.values[key] = b
	} else if _, exists := s.change.Set[key]; !exists && len(s.change.Set) >= s.m.cfg.MaxKeys {
		return fmt.Errorf("%w: the limit (Config.MaxKeys) is %d", ErrTooManyKeys, s.m.cfg.MaxKeys)
	}
	if s.id == "" {
		s.id, s.created = newID(), s.m.cfg.Now()
	}
	if s.change.Set == nil {
		s.change.Set = make(map[string][]byte)
	}
	s.change.Set[key] = b
	if _, ok := s.del[key]; ok {
		delete(s.del, key)
		s.change.Del = slices.DeleteFunc(s.change.Del, func(k string) bool { return k == key })
	}
	return nil
}

// Delete removes key from the session. Removing a key that does not exist
// is not an error.
func (s *Session) Delete(key string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.change.Set, key)
	if s.loaded {
		delete(s.values, key)
	}
	if s.stored && !s.change.Clear {
		if _, ok := s.del[key]; !ok {
			if s.del == nil {
				s.del = make(map[string]struct{})
			}
			s.del[key] = struct{}{}
			s.change.Del = append(s.change.Del, key)
		}
	}
}

// Clear removes every key from the session; the session itself stays.
func (s *Session) Clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		s.values = make(map[string][]byte)
	}
	// An unloaded session stays unloaded: whether it still exists is for the
	// store to say (Require, IsNew), and load applies the Clear to what it
	// reads.
	s.change = store.Delta{Clear: s.stored}
	s.del = nil
}

// Keys returns the session's keys, sorted.
func (s *Session) Keys() ([]string, error) {
	if s == nil {
		return nil, ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(s.values)), nil
}

// Len returns the number of keys in the session.
func (s *Session) Len() (int, error) {
	if s == nil {
		return 0, ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return 0, err
	}
	return len(s.values), nil
}

// Destroy ends the session: it is deleted from the store and the client's
// cookie is expired when the response starts. The handle then acts as a new,
// empty session: a value set afterwards (a "logged out" message) starts a
// fresh session with a fresh ID.
func (s *Session) Destroy() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored {
		s.drop = append(s.drop, s.id)
	}
	s.reset()
}

// Renew gives the session a new ID and moves its values there; the old ID
// stops working. Call it whenever privileges change, at login above all: an
// attacker who planted a session ID in the victim's browser (session
// fixation) is left holding a dead one. The session keeps its age for
// Config.Lifetime. It loads the session if it was not loaded yet; an error
// means the store failed. After the response headers went out it returns
// ErrHeadersSent and changes nothing: the new ID could not reach the client.
func (s *Session) Renew() error {
	if s == nil {
		return ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		// The new ID could not reach the client: renewing now would end the
		// session the client holds without giving it another.
		return ErrHeadersSent
	}
	if err := s.load(); err != nil {
		return err
	}
	values, created := s.values, s.created
	if s.stored {
		s.drop = append(s.drop, s.id)
	}
	s.reset()
	if len(values) > 0 {
		s.id, s.created, s.values = newID(), created, values
		s.change.Set = maps.Clone(values)
	}
	return nil
}

// reset turns the handle into a new session without values.
func (s *Session) reset() {
	s.id, s.stored, s.reissue = "", false, false
	s.loaded, s.values = true, make(map[string][]byte)
	s.change, s.del = store.Delta{}, nil
}

// load reads the session from the store once, renewing its expiry in the
// same round trip when a touch is due. The recorded change is applied on
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
	ctx, cancel := s.m.storeContext(s.ctx, false)
	values, found, err := s.m.cfg.Store.Load(ctx, s.id, ttl)
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
		values = make(map[string][]byte, len(s.change.Set))
	}
	if s.change.Clear {
		clear(values)
	}
	for _, k := range s.change.Del {
		delete(values, k)
	}
	maps.Copy(values, s.change.Set)
	s.loaded, s.values = true, values
	return nil
}

// markGone records that the client's session no longer exists: the handle
// becomes a new session, with a fresh ID, holding only what this request set.
func (s *Session) markGone() {
	set := s.change.Set
	s.gone = true
	s.reset()
	if len(set) > 0 {
		s.id, s.created = newID(), s.m.cfg.Now()
		s.values, s.change.Set = maps.Clone(set), set
	}
}

// touchDue reports whether the store's expiry should be renewed now: the
// client's token, and so the expiry, is older than Config.TouchInterval.
func (s *Session) touchDue(now time.Time) bool {
	return s.stored && !s.reissue && s.tokenStale(now)
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

// renewed records that the store's expiry was just set to now+ttl: the
// client needs a new token saying so.
func (s *Session) renewed(now time.Time, ttl time.Duration) {
	s.expires, s.issued, s.reissue = now.Add(ttl), now, true
}

// tokenStale reports whether the client's token is older than
// Config.TouchInterval, and so worth replacing when the expiry moves.
func (s *Session) tokenStale(now time.Time) bool {
	return now.Sub(s.issued) >= s.m.cfg.TouchInterval
}

// storeError wraps a store failure in ErrStore; a limit the store enforced
// is not a failure and keeps its own identity.
func storeError(op string, err error) error {
	if errors.Is(err, store.ErrTooManyKeys) {
		return fmt.Errorf("%w: the limit (Config.MaxKeys) applies to the stored session", err)
	}
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}

// checkKey enforces the key rules of Set.
func (m *Manager) checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > m.cfg.MaxKeyLength:
		return fmt.Errorf("%w: key of %d bytes, the limit (Config.MaxKeyLength) is %d", ErrInvalidKey, len(key), m.cfg.MaxKeyLength)
	case strings.HasPrefix(key, "@"):
		return fmt.Errorf("%w: %q: keys starting with '@' are reserved for the store", ErrInvalidKey, key)
	}
	return nil
}

// errBadID means a token was to be made for an ID that newID did not make.
var errBadID = errors.New("session: malformed session ID")
