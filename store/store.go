// Package store defines the contract between the session middleware and the
// backends that keep session data.
//
// A backend that passes the conformance suite in package storetest works with
// the middleware; memstore and redisstore are the two that ship with it.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrTooManyKeys is returned by Store.Create and Store.Update when applying a
// change would leave the session with more than the allowed number of keys.
// Nothing is written when it is returned.
var ErrTooManyKeys = errors.New("session: too many keys in session")

// ErrExists is returned by Store.Create when a session with that ID is already
// stored. With 128-bit random IDs it means a bug, never bad luck.
var ErrExists = errors.New("session: session ID already in use")

// A Store keeps sessions: a set of named values per session ID, each session
// expiring after its own time to live.
//
// Every method takes the caller's context first and must return promptly with
// ctx.Err() once it is done. "Not found" always means the session does not
// exist or has expired; it is reported with found=false and a nil error. A
// non-nil error is for system failures only (the backend is down, a timeout):
// the middleware answers those with 503.
//
// A ttl of zero or less ends the session: Create stores nothing, Update and
// Touch delete it (reporting found=true when it existed).
//
// Implementations must be safe for concurrent use, and must apply each call
// atomically: two concurrent Updates that change different keys of one session
// both keep their change.
type Store interface {
	// Load returns a copy of the values of session id. When ttl is greater
	// than zero the session's time to live is also set to ttl, in the same
	// operation (one round trip for a remote store).
	Load(ctx context.Context, id string, ttl time.Duration) (values map[string][]byte, found bool, err error)

	// Create stores a new session with the given values (possibly none) that
	// expires after ttl. It returns ErrExists if id is already stored, and
	// ErrTooManyKeys if maxKeys > 0 and len(values) > maxKeys.
	Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error

	// Update applies d to an existing session and sets its time to live to
	// ttl, atomically. If the session does not exist (it expired or was
	// destroyed) nothing is written and found is false: a write must never
	// bring a session back to life.
	Update(ctx context.Context, id string, d Delta, ttl time.Duration) (found bool, err error)

	// Touch sets the time to live of an existing session to ttl. found is
	// false, and nothing is written, when the session does not exist.
	Touch(ctx context.Context, id string, ttl time.Duration) (found bool, err error)

	// Delete removes a session. Deleting a session that does not exist is
	// not an error.
	Delete(ctx context.Context, id string) error
}

// Nonblocking is implemented by stores whose calls never wait on I/O or
// locks held across I/O, such as memstore. The middleware calls them without
// the per-call timeout context, which would cost more than the call itself.
type Nonblocking interface {
	Nonblocking()
}

// Delta is a change to a session's values, as recorded during one request.
// It is applied in this order: Clear, then Del, then Set.
type Delta struct {
	// Clear removes every value of the session first.
	Clear bool
	// Del lists keys to remove.
	Del []string
	// Set maps keys to their new encoded values.
	Set map[string][]byte
	// MaxKeys, when greater than zero, is the most keys the session may hold
	// after the change. An Update that would exceed it writes nothing and
	// returns ErrTooManyKeys.
	MaxKeys int
}

// Empty reports whether applying d would change nothing.
func (d *Delta) Empty() bool {
	return !d.Clear && len(d.Del) == 0 && len(d.Set) == 0
}
