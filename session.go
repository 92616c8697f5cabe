package session

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
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
	m   *Manager
	req *http.Request // the request: its Context for store calls, itself for the hooks that take one
	mu  sync.Mutex    // protects everything below

	// The small fields together, where apart each would take a word.
	tok        tokenState  // what the request's token turned out to be
	source     tokenSource // how the request sent it
	state      state       // what id stands for
	reissue    bool        // the expiry moved or the ID changed: the client needs a new token
	loaded     bool        // values holds the stored values with the change applied
	moveUnsure bool        // a renewal's store call timed out: it may yet happen
	committed  bool        // the response headers went out
	accessed   bool        // the handler read the session: the response depends on it
	outcome    outcome     // what the request did to its session so far, for session.requests
	down       bool        // with ProceedAnonymous: the load failed, and the request goes on without its session

	token  *verifiedToken   // the client's token in use, shared and never modified
	others []*verifiedToken // more session cookies that verified, for next

	id      string    // the ID the client will hold; "" in stateNone
	from    string    // in stateRenewed: the stored ID the commit moves to id
	created time.Time // start of the session, for Config.Lifetime
	issued  time.Time // when the client's token was issued; the store's expiry was set then
	expires time.Time // the session's expiry as last set or known

	values  values    // valid when loaded
	change  change    // recorded writes, saved at the commit
	login   string    // the user Login recorded, for Config.MaxUserSessions
	drop    []dropped // stored sessions to end at the commit
	err     error     // first store error: the response becomes the ErrorHandler's
	readErr error     // first value that could not be decoded

	committedID string // the ID the client holds after the headers went out
}

// dropped is a stored session the request ended. An empty reason means it
// ended on its own (its Lifetime): not a destroy.
type dropped struct {
	id     string
	reason Reason
}

// state says what a Session's ID stands for, like scs's Status: one value
// instead of flags that must agree.
type state uint8

const (
	stateNone    state = iota // no session: nothing to save
	stateNew                  // a new session, stored at the commit if it holds values
	stateStored               // a session believed to be in the store under id
	stateRenewed              // stored under from; the commit moves it to id (Renew)
)

// tokenState says what the token a request sent turned out to be.
type tokenState uint8

const (
	tokenNone    tokenState = iota // no token came
	tokenInvalid                   // a token came that did not verify
	tokenValid                     // a token verified; its session is presumed live
	tokenGone                      // a token verified but its session had ended
)

// ID returns the session ID, or "" while there is no session. A new session
// gets its ID when it first receives a value; Renew changes it. The ID is
// secret: log it with care.
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
	return s.tok != tokenValid || s.down, nil
}

// ExpiresAt returns when the session expires if no further request comes, or
// the zero time while there is no session.
func (s *Session) ExpiresAt() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateNone:
		return time.Time{}
	case stateNew, stateRenewed:
		// The commit stores it with a fresh expiry.
		return s.m.expiry(s.created, s.m.cfg.Now())
	}
	return s.expires
}

// Get decodes the value stored under key into v, which must be a pointer. ok
// is false, with a nil error, when there is no such key. The first read of a
// request loads the session. An error wrapping ErrStore means the store
// failed, and the response will be the ErrorHandler's whatever the handler
// writes; one wrapping ErrDecode means this value cannot be decoded (Set or
// Delete replaces it). A handler that returns without writing a response
// after either gets the ErrorHandler's answer, never an empty 200.
func (s *Session) Get(key string, v any) (ok bool, err error) {
	b, ok, err := s.value(key)
	if !ok || err != nil {
		return false, err
	}
	return s.decode(key, b, v)
}

// value returns the encoded value of key for Get, which may not read the
// store's keys.
func (s *Session) value(key string) ([]byte, bool, error) {
	if isMeta(key) {
		return nil, false, errReserved(key)
	}
	return s.raw(key)
}

// decode decodes key's value b into v, and records a failure for the
// ErrorHandler's answer to a handler that returns without writing one.
func (s *Session) decode(key string, b []byte, v any) (ok bool, err error) {
	if err := s.m.cfg.Codec.Unmarshal(b, v); err != nil {
		err = fmt.Errorf("%w: %q: %w", ErrDecode, key, err)
		s.mu.Lock()
		if s.readErr == nil {
			s.readErr = err
		}
		s.mu.Unlock()
		return false, err
	}
	return true, nil
}

// Get returns the value stored under key as a T. ok is false, with a nil
// error, when there is no such key; errors are those of Session.Get.
//
//	user, ok, err := session.Get[string](s, "user")
func Get[T any](s *Session, key string) (v T, ok bool, err error) {
	b, ok, err := s.value(key)
	if !ok || err != nil {
		return v, false, err
	}
	// A string, int or bool in the JSON codec's plain form is decoded
	// directly, and v stays on the stack. Handed to a Codec through an
	// interface, a variable moves to the heap: p does, on this path only.
	if _, isJSON := s.m.cfg.Codec.(JSON); isJSON && unmarshalPlain(b, &v) {
		return v, true, nil
	}
	p := new(T)
	ok, err = s.decode(key, b, p)
	return *p, ok, err
}

// raw returns the encoded value of key, loading the session if needed.
func (s *Session) raw(key string) ([]byte, bool, error) {
	if s == nil {
		return nil, false, ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Read-your-writes needs no round trip.
	if b, ok, decided := s.change.lookup(key); decided {
		return b, ok, nil
	}
	if err := s.load(); err != nil {
		return nil, false, err
	}
	b, ok := s.values.get(key)
	return b, ok, nil
}

// Set stores v under key, encoded at once with the Codec: encoding errors
// surface here, and later changes to v do not reach the session. It fails
// with ErrInvalidKey, ErrValueTooLarge or ErrTooManyKeys beyond the limits in
// Config. The change is saved when the response starts.
//
// Two requests that Set different keys of one session both keep their
// change. Two that Set the same key leave the value of whichever saved
// last.
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
	if s.down {
		return s.refuse(fmt.Sprintf("Set(%q)", key))
	}
	return s.set(key, b)
}

// set records key = b, encoded, within Config.MaxKeys, starting a new
// session if there was none. s.mu must be held.
func (s *Session) set(key string, b []byte) error {
	if s.loaded {
		if _, exists := s.values.get(key); !exists && s.values.len() >= s.m.cfg.MaxKeys {
			return s.m.tooManyKeys()
		}
		s.values.set(key, b)
	} else if n, exists := s.change.sets(key); !exists && n >= s.m.cfg.MaxKeys {
		return s.m.tooManyKeys()
	}
	if s.state == stateNone {
		s.state, s.id, s.created = stateNew, newID(), s.m.cfg.Now()
	}
	s.change.set(key, b)
	return nil
}

// Delete removes key from the session. Removing a key that does not exist
// is not an error; keys starting with '@' are the store's, and left alone.
func (s *Session) Delete(key string) {
	if s == nil || isMeta(key) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		_ = s.refuse(fmt.Sprintf("Delete(%q)", key))
		return
	}
	if s.loaded {
		s.values.del(key)
	}
	s.change.del(key, s.inStore())
}

// Clear removes every key from the session; the session itself stays, and
// so does its login (User, and the label given to Login): to log out, use
// Destroy.
func (s *Session) Clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		_ = s.refuse("Clear")
		return
	}
	if s.loaded {
		s.values.clear()
	}
	// An unloaded session stays unloaded: whether it still exists is for the
	// store to say (Require, IsNew), and load applies the Clear to what it
	// reads.
	s.change.clearAll(s.inStore())
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
	keys := make([]string, 0, s.values.len())
	for k := range s.values.all() {
		if !isMeta(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
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
	if s.inStore() {
		s.drop = append(s.drop, dropped{s.storedID(), ReasonLogout})
	}
	s.reset()
}

// Renew gives the session a new ID; the old ID stops working. Call it
// whenever privileges change, at login above all: an attacker who planted a
// session ID in the victim's browser (session fixation) is left holding a
// dead one. The session keeps its values and its age for Config.Lifetime.
//
// The move happens when the response starts, in one atomic store call: a
// request that writes with the old ID meanwhile either has its change moved
// along or finds the old session gone (its change then goes to a fresh
// session), and a logout with the old ID either ends the session before the
// move (the renewed session keeps only what this request set) or finds
// nothing. Renew itself costs no store call; it returns ErrHeadersSent,
// changing nothing, once the response headers went out: the new ID could
// not reach the client.
func (s *Session) Renew() error {
	if s == nil {
		return ErrNoMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return ErrHeadersSent
	}
	if s.down {
		return s.refuse("Renew")
	}
	s.renew()
	return nil
}

// renew gives the handle a new ID, to be moved to at the commit. s.mu must
// be held.
func (s *Session) renew() {
	switch s.state {
	case stateStored:
		s.state, s.from, s.id = stateRenewed, s.id, renewedID(s.id)
	case stateRenewed:
		s.id = renewedID(s.from)
	case stateNew:
		s.id = newID() // never stored, never sent: nothing to move
	}
}

// inStore reports whether the handle stands for a stored session. s.mu must
// be held.
func (s *Session) inStore() bool {
	return s.state == stateStored || s.state == stateRenewed
}

// storedID returns the ID the session is stored under until the commit.
// s.mu must be held.
func (s *Session) storedID() string {
	if s.state == stateRenewed {
		return s.from
	}
	return s.id
}

// reset turns the handle into a new session without values. s.mu must be
// held.
func (s *Session) reset() {
	s.state, s.id, s.from, s.reissue, s.login = stateNone, "", "", false, ""
	s.loaded, s.values = true, values{}
	s.change.reset()
}

// markGone records that the client's session no longer exists: the handle
// becomes a new session, with a fresh ID, holding only what this request
// set. s.mu must be held.
func (s *Session) markGone() {
	set, login := s.change.setValues(), s.login
	s.tok = tokenGone
	s.reset()
	if len(set) > 0 {
		s.state, s.id, s.created, s.login = stateNew, newID(), s.m.cfg.Now(), login
		s.values = values{m: maps.Clone(set)}
		for k, b := range set {
			s.change.set(k, b)
		}
	}
}

// unansweredReadError returns the error of a value that could not be
// decoded, for a handler that returned without writing a response, and
// discards the request's changes: the request failed. A store failure is
// left to the commit, which answers it anyway.
func (s *Session) unansweredReadError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr == nil || s.err != nil {
		return nil
	}
	s.discard()
	return s.readErr
}

// discard forgets what this request set, deleted or renewed: the response
// says the request failed, and a half-done change (a half-done login) must
// not be saved. Destroys stay: ending a session is never half-done. s.mu
// must be held.
func (s *Session) discard() {
	switch s.state {
	case stateNew:
		s.reset()
	case stateRenewed:
		s.state, s.id, s.from = stateStored, s.from, ""
	}
	s.change.reset()
	s.login = ""
	if s.state == stateStored {
		s.loaded, s.values = false, values{} // a read after this reads the store
	}
}

// checkKey enforces the key rules of Set.
func (m *Manager) checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > m.cfg.MaxKeyLength:
		return fmt.Errorf("%w: key of %d bytes, the limit (Config.MaxKeyLength) is %d", ErrInvalidKey, len(key), m.cfg.MaxKeyLength)
	case isMeta(key):
		return errReserved(key)
	}
	return nil
}

func (m *Manager) tooManyKeys() error {
	return fmt.Errorf("%w: the limit (Config.MaxKeys) is %d", ErrTooManyKeys, m.cfg.MaxKeys)
}
