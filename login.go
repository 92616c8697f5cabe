package session

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed58a3dad2/session/store"
)

// ErrTooManyUserSessions is returned, through the ErrorHandler (403), for a
// login beyond Config.MaxUserSessions when Config.UserLimit is RefuseLogin.
var ErrTooManyUserSessions = errors.New("session: the user has too many sessions: log out elsewhere first")

// maxUserLength bounds a user name: it is a key in the store's index.
const maxUserLength = 256

// Login records that user logged in, in one step with a renewal of the
// session's ID (Renew), so that a planted ID never becomes a logged-in one.
// label, which may be empty, describes the client for "your devices"
// listings (Manager.UserSessions), such as "Firefox on Linux". The session
// keeps its values. On a store that indexes sessions by user the session is
// listed under user; Config.MaxUserSessions is enforced when the response
// starts. It returns ErrInvalidKey for an empty user, one longer than 256
// bytes, not UTF-8 or holding a control character (a newline in a user name
// would forge lines in a log), and ErrHeadersSent, changing nothing, once
// the response headers went out.
func (s *Session) Login(user, label string) error {
	if s == nil {
		return ErrNoMiddleware
	}
	switch {
	case user == "" || len(user) > maxUserLength || !utf8.ValidString(user) || strings.ContainsFunc(user, unicode.IsControl):
		return fmt.Errorf("%w: a user name must be 1 to %d bytes of UTF-8 without control characters", ErrInvalidKey, maxUserLength)
	case len(label) > s.m.cfg.MaxValueSize || !utf8.ValidString(label):
		return fmt.Errorf("%w: a label must be UTF-8 of at most Config.MaxValueSize bytes", ErrValueTooLarge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return ErrHeadersSent
	}
	if s.down {
		return s.refuse("Login")
	}
	s.renew()
	if s.state == stateNone {
		s.state, s.id, s.created = stateNew, newID(), s.m.cfg.Now()
	}
	s.setMeta(store.UserKey, user)
	if label != "" {
		s.setMeta(store.LabelKey, label)
	} else {
		if s.loaded {
			s.values.del(store.LabelKey)
		}
		s.change.del(store.LabelKey, s.inStore())
	}
	s.login = user
	return nil
}

// setMeta records a metadata value, raw. s.mu must be held.
func (s *Session) setMeta(key, value string) {
	b := []byte(value)
	if s.loaded {
		s.values.set(key, b)
	}
	s.change.set(key, b)
}

// User returns the user that logged in to the session (Login), or "". It
// loads the session if it was not loaded yet.
func (s *Session) User() (string, error) {
	b, _, err := s.raw(store.UserKey)
	return string(b), err
}

// Handle returns the opaque handle that names the session in listings
// (Manager.UserSessions, Manager.Sessions): compare it with a listing's
// handles to mark "this device". "" while there is no session.
func (s *Session) Handle() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.handles.of(s.id)
}

// ids returns the IDs the session stands for in the store: its own and, while
// a renewal is pending, the one it moves from. Empty for a nil Session.
func (s *Session) ids() map[string]bool {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]bool{s.id: true, s.from: true}
}

// checkUserLimit makes room for a login under Config.MaxUserSessions, or
// refuses it, before the session is stored under its user. s.mu must be
// held.
func (s *Session) checkUserLimit(now time.Time) error {
	m := s.m
	if s.login == "" || m.cfg.MaxUserSessions <= 0 {
		return nil
	}
	ctx, cancel := m.saveContext(s.req.Context())
	defer cancel()
	infos, err := m.indexer.UserSessions(ctx, s.login)
	if err != nil {
		return s.storeError("user sessions", err)
	}
	others := infos[:0]
	for _, in := range infos {
		if in.ID != s.id && in.ID != s.from {
			others = append(others, in)
		}
	}
	excess := len(others) - m.cfg.MaxUserSessions + 1
	if excess <= 0 {
		return nil
	}
	if m.cfg.UserLimit == RefuseLogin {
		return fmt.Errorf("%w: the limit (Config.MaxUserSessions) is %d", ErrTooManyUserSessions, m.cfg.MaxUserSessions)
	}
	for _, in := range others[:excess] { // oldest first
		if _, err := m.remove(ctx, in.ID, ReasonEvicted); err != nil {
			return err
		}
	}
	return nil
}
