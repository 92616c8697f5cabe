package session

import "context"

// contextKey is the type of the key under which the middleware puts the
// *Session into the request context.
type contextKey struct{ name string }

// String names the key in debugging output.
func (k *contextKey) String() string { return "session context key " + k.name }

var sessionKey = &contextKey{"session"}

// FromContext returns the session the middleware put into ctx (a request's
// Context()). Without the middleware it returns nil; every method of a nil
// *Session is safe and reports ErrNoMiddleware.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey).(*Session)
	return s
}

// sessionContext is the request context with the session in it. It is
// allocated with the rest of the request's state instead of by
// context.WithValue.
type sessionContext struct {
	context.Context
	s *Session
}

// Value returns the session for its key and asks the request context for
// any other.
func (c *sessionContext) Value(key any) any {
	if key == sessionKey {
		return c.s
	}
	return c.Context.Value(key)
}
