package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// ErrNotInteger is returned by Session.Add when the key holds a value that
// is not an integer, or when the sum would not fit an int64. Nothing is
// changed. It is store.ErrNotInteger, so errors.Is matches either name.
var ErrNotInteger = store.ErrNotInteger

// Add adds n to the integer stored under key, atomically, and returns the
// sum: of concurrent requests that add to one key, none is lost and each
// gets a sum of its own, on every store. A missing key counts as 0; a
// negative n subtracts. Use it for counters, where two requests that read
// a value and Set it plus one would both write the same number (two Sets of
// one key: the last one saved wins).
//
// The value is stored as a decimal number, which the default JSON Codec
// reads back with Get into any integer type; with another Codec, read it
// with Add(key, 0).
//
// Unlike Set, Add is carried out in the store at once, together with the
// changes the request recorded before it: for a request that makes no
// other change afterwards, it is the request's only store call, the round
// trip a plain write costs anyway, and a session that was not loaded is not
// loaded. On a new session (no live session came with the request) it
// changes the values held for the commit, like Set.
//
// It returns ErrNotInteger, changing nothing, when key holds a value that is
// not an integer, and the errors of Set for a bad key or Config.MaxKeys. A
// store failure returns an error wrapping ErrStore and fails the request as
// a failed read does (Config.StoreDown decides how); the addition may or
// may not have been made, and it is never retried (Config.OnStoreError is
// not asked), since trying again could add twice.
func (s *Session) Add(key string, n int64) (int64, error) {
	if s == nil {
		return 0, ErrNoMiddleware
	}
	if err := s.m.checkKey(key); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, err := s.atomically(key, store.Delta{Add: map[string]int64{key: n}}, func() ([]byte, bool, error) {
		return s.addLocal(key, n)
	})
	if err != nil {
		return 0, err
	}
	sum, ok := store.ParseInt(b)
	if !ok {
		return 0, fmt.Errorf("%w: %q: the store answered the sum %q", ErrStore, key, b)
	}
	return sum, nil
}

// Take reads the value stored under key into v, which must be a pointer, and
// removes it, atomically: of concurrent requests that take one key, exactly
// one gets the value. Use it for flash messages, the one-shot notices one
// request leaves (Set, then a redirect) for the next to show:
//
//	s.Set("flash", "Saved.")                  // POST, then redirect
//	msg, ok, err := session.Take[string](s, "flash") // GET: shown once
//
// ok is false, with a nil error, when there is no such key. Like Add, Take
// is carried out in the store at once with the changes recorded before it,
// so a value taken is gone whatever the response; it costs no round trip
// when the session was loaded and holds no such key, or when the value was
// set by this request. A value that cannot be decoded is removed all the
// same and reported as for Get (ErrDecode). Store failures are those of
// Add: never retried, since a second try could find the value taken by the
// first.
func (s *Session) Take(key string, v any) (ok bool, err error) {
	if s == nil {
		return false, ErrNoMiddleware
	}
	if isMeta(key) {
		return false, errReserved(key)
	}
	s.mu.Lock()
	b, ok, err := s.atomically(key, store.Delta{Take: []string{key}}, func() ([]byte, bool, error) {
		return s.takeLocal(key)
	})
	s.mu.Unlock()
	if !ok || err != nil {
		return false, err
	}
	return s.decode(key, b, v)
}

// Take returns the value stored under key as a T and removes it; see
// Session.Take.
func Take[T any](s *Session, key string) (v T, ok bool, err error) {
	ok, err = s.Take(key, &v)
	return v, ok, err
}

// onceError is a store call's error that must not be retried: the call may
// have been carried out (an Add, a Take), and doing it again would not give
// the same answer.
type onceError struct{ error }

// atomically makes the Add or Take that d holds for key: in the store at
// once when the handle stands for a stored session, with the change
// recorded so far, else with local, which acts on the values held for the
// commit. It returns key's value from either. s.mu must be held.
func (s *Session) atomically(key string, d store.Delta, local func() ([]byte, bool, error)) ([]byte, bool, error) {
	if s.down {
		return nil, false, s.refuse(fmt.Sprintf("the change to %q", key))
	}
	if s.err != nil {
		return nil, false, s.err
	}
	s.accessed = true
	now := s.m.cfg.Now()
	if s.inStore() && s.lifetimeOver(now) {
		// Reached its Lifetime: ended as the commit would end it, and
		// what the request set goes to a new session.
		s.drop = append(s.drop, dropped{id: s.storedID()})
		s.markGone()
	}
	for s.inStore() {
		if len(d.Take) > 0 {
			if _, ok, decided := s.change.lookup(key); decided {
				// Set or deleted by this request: the store's value is
				// replaced at the commit either way.
				if ok {
					return s.takeLocal(key)
				}
				return nil, false, nil
			}
			if _, ok := s.values.get(key); s.loaded && !ok {
				return nil, false, nil // not there when loaded: taking nothing is as good as any answer
			}
		}
		if len(d.Add) > 0 && s.loaded {
			if _, ok := s.values.get(key); !ok && s.values.len() >= s.m.cfg.MaxKeys {
				return nil, false, s.m.tooManyKeys()
			}
		}
		values, found, err := s.apply(now, d)
		if err != nil {
			return nil, false, err
		}
		if found {
			b, ok := values[key]
			if s.loaded {
				if len(d.Add) > 0 {
					s.values.set(key, b)
				} else {
					s.values.del(key)
				}
			}
			return b, ok, nil
		}
		if !s.next() {
			s.markGone()
		}
	}
	if s.committed && len(d.Add) > 0 {
		return nil, false, ErrHeadersSent // a new session could no longer reach the client
	}
	return local()
}

// apply saves the change recorded so far, but for a Login's metadata,
// together with d, and renews the session's expiry, in one store call.
// found is false when the session is gone. s.mu must be held.
func (s *Session) apply(now time.Time, d store.Delta) (values map[string][]byte, found bool, err error) {
	data, meta := s.change.split()
	data.Add, data.Take = d.Add, d.Take
	ttl := s.ttl(now)
	id := s.storedID()
	err = s.call(true, id, func(ctx context.Context, retry bool) error {
		values, found, err = s.m.store.Apply(ctx, id, data, ttl, s.m.cfg.MaxKeys)
		return onceError{err}
	})
	switch {
	case errors.Is(err, store.ErrNotInteger):
		return nil, false, fmt.Errorf("%w: %q holds a value that is not an integer, or the sum would overflow", ErrNotInteger, keyOf(d))
	case errors.Is(err, store.ErrTooManyKeys):
		return nil, false, s.m.tooManyKeys()
	case err != nil:
		err = s.storeError("apply", err)
		if s.m.cfg.StoreDown == ProceedAnonymous {
			s.goAnonymous(err)
		} else {
			s.err = err
		}
		return nil, false, err
	case found:
		s.reached(outcomeSaved)
		s.change = meta
		if s.tokenStale(now) {
			s.extended(now, ttl)
		}
	}
	return values, found, nil
}

// keyOf returns the key d adds to or takes.
func keyOf(d store.Delta) string {
	for k := range d.Add {
		return k
	}
	return d.Take[0]
}

// addLocal adds n to key among the values held for the commit. s.mu must be
// held.
func (s *Session) addLocal(key string, n int64) ([]byte, bool, error) {
	cur, ok, decided := s.change.lookup(key)
	if !decided {
		cur, ok = s.values.get(key)
	}
	if !ok {
		cur = nil
	}
	sum, err := store.AddInt(cur, n)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %q holds %q, or the sum would overflow", ErrNotInteger, key, cur)
	}
	b := strconv.AppendInt(nil, sum, 10)
	if err := s.set(key, b); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// takeLocal removes key from the values held for the commit and returns
// what it held. s.mu must be held.
func (s *Session) takeLocal(key string) ([]byte, bool, error) {
	b, ok, decided := s.change.lookup(key)
	if !decided {
		b, ok = s.values.get(key)
	}
	if ok {
		if s.loaded {
			s.values.del(key)
		}
		s.change.del(key, s.inStore())
	}
	return b, ok, nil
}
