// Package store defines the contract between the session middleware and the
// backends that keep session data.
//
// A backend that passes the conformance suite in package storetest works with
// the middleware; memstore and redisstore are the two that ship with it.
//
// Session IDs are made by the middleware: 16 bytes from crypto/rand in
// unpadded base64url, 22 characters. An ID that replaces another (Store.Move,
// when a session is renewed) keeps the first character of the old one and
// draws the other 122 bits afresh, so a store may shard sessions by their
// first character and still move one within a shard, atomically.
package store

import (
	"context"
	"errors"
	"strconv"
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
// A ttl of zero or less ends the session: Create stores nothing; Update,
// Touch and Move delete it, reporting found=true when it existed, whatever
// the change, the limit or the new ID (Move then stores nothing under it).
//
// Implementations must be safe for concurrent use, and must apply each call
// atomically: two concurrent Updates that change different keys of one session
// both keep their change.
type Store interface {
	// Load returns a copy of the values of session id, which the caller
	// owns: it may change the map, and change or append to its slices,
	// without touching the stored values or each other. When ttl is greater
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
	// bring a session back to life. An Update that would leave the session
	// with more than maxKeys values, metadata included (when maxKeys > 0),
	// writes nothing and
	// returns ErrTooManyKeys.
	Update(ctx context.Context, id string, d Delta, ttl time.Duration, maxKeys int) (found bool, err error)

	// Apply is Update for a Delta that may also Add and Take, with their
	// answers: it applies d and sets the time to live to ttl, atomically,
	// and returns in values the value of each key d added to, as it is
	// after the addition, and of each key d took that was there (the
	// caller's, as Load's values are). found is
	// false, and nothing is written, when the session does not exist. An
	// Add that meets a value which is not a decimal integer, or whose sum
	// would not fit an int64, fails the call with ErrNotInteger, writing
	// nothing. maxKeys is enforced as for Update on the keys the session
	// holds after the Add (the keys an Add creates count; the Take comes
	// after the count). Update(d) is Apply(d) without the values. The
	// middleware calls Apply for Session.Add and Session.Take, with the
	// request's other changes, so that they cost no more round trips than a
	// plain write.
	Apply(ctx context.Context, id string, d Delta, ttl time.Duration, maxKeys int) (values map[string][]byte, found bool, err error)

	// Move gives session from the new ID to, atomically: the values of from
	// with d applied are stored under to, which expires after ttl, and from
	// no longer exists. Nothing else can happen in between: a concurrent
	// Update of from is either moved along or finds from gone, and a
	// concurrent Delete of from either wins (the move finds nothing) or
	// finds nothing to delete. When from does not exist nothing is written
	// and found is false. It returns ErrExists, writing nothing, if to is
	// already stored, and ErrTooManyKeys like Update. The middleware calls
	// it to renew a session's ID (at login); to then shares its first
	// character with from (see the package documentation), so a store may
	// keep both in one shard.
	Move(ctx context.Context, from, to string, d Delta, ttl time.Duration, maxKeys int) (found bool, err error)

	// Touch sets the time to live of an existing session to ttl. found is
	// false, and nothing is written, when the session does not exist.
	Touch(ctx context.Context, id string, ttl time.Duration) (found bool, err error)

	// Delete removes a session. found reports whether it existed: deleting
	// a session that does not exist is not an error.
	Delete(ctx context.Context, id string) (found bool, err error)
}

// Nonblocking is implemented by stores whose calls never wait on I/O or
// locks held across I/O, such as memstore. The middleware calls them without
// the per-call timeout context, which would cost more than the call itself.
type Nonblocking interface {
	Nonblocking()
}

// Delta is a change to a session's values, as recorded during one request.
// It is applied in this order: Clear, then Del, then Set, then Add, then
// Take.
type Delta struct {
	// Clear removes every value of the session first, except the
	// middleware's metadata (keys starting with '@': see UserKey), which
	// describes the session rather than holds the application's data.
	Clear bool
	// Del lists keys to remove.
	Del []string
	// Set maps keys to their new encoded values.
	Set map[string][]byte
	// Add maps keys to numbers to add to their values, atomically: a value
	// is a decimal integer in ASCII, as strconv.FormatInt writes it (see
	// AddInt), and a missing key counts as 0.
	Add map[string]int64
	// Take lists keys to read and remove, atomically: of two concurrent
	// calls that take one key, exactly one gets its value.
	Take []string
	// Add and Take never name metadata keys (those starting with '@').
}

// Empty reports whether applying d would change nothing.
func (d *Delta) Empty() bool {
	return !d.Clear && len(d.Del) == 0 && len(d.Set) == 0 && len(d.Add) == 0 && len(d.Take) == 0
}

// ErrNotInteger is returned by Store.Apply, writing nothing, when Delta.Add
// meets a value that is not a decimal integer, or a sum that would not fit
// an int64.
var ErrNotInteger = errors.New("session: the value is not an integer that can be added to")

// AddInt returns value with n added, for Delta.Add: value must be a decimal
// integer that fits an int64, as strconv.FormatInt writes it ("-12", "0";
// no sign on a positive number, no leading zeros, no spaces: the integers
// Redis's HINCRBY accepts), or nil for a missing key, which counts as 0. It
// returns ErrNotInteger for any other value or a sum that would overflow.
func AddInt(value []byte, n int64) (sum int64, err error) {
	var v int64
	if value != nil {
		var ok bool
		if v, ok = ParseInt(value); !ok {
			return 0, ErrNotInteger
		}
	}
	sum = v + n
	if (n > 0 && sum < v) || (n < 0 && sum > v) {
		return 0, ErrNotInteger
	}
	return sum, nil
}

// ParseInt parses value as AddInt reads it, reporting whether it is such an
// integer.
func ParseInt(value []byte) (int64, bool) {
	if len(value) == 0 || len(value) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil {
		return 0, false
	}
	// The canonical form only: "+1", "01" and "-0" are refused, as Redis
	// refuses them.
	var buf [20]byte
	return v, string(strconv.AppendInt(buf[:0], v, 10)) == string(value)
}
