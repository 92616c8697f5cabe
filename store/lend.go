package store

import (
	"context"
	"iter"
	"time"
)

// A Lender lends a session's values read-only instead of copying them. Load
// copies every value into a map of the caller's own, which for an
// in-memory store costs more than finding the session; a request that only
// reads its session needs no copy. The middleware calls Lend instead of Load
// when the store has it, and copies the values only when the request
// changes them.
//
// A store that wraps another (to measure it, to move sessions between two)
// implements Lender only if it lends what its inner store lends: a wrapper
// that copied to lend would make every write pay twice. A wrapper that
// embeds a lending store and overrides Load must override Lend too: the
// middleware would otherwise call the embedded store's Lend and bypass the
// override.
type Lender interface {
	Store

	// Lend is Load without the copy: it returns the values of session id
	// as a View, and when ttl is greater than zero sets the session's time
	// to live to ttl, in the same operation. The View holds the values as
	// they were when Lend returned, whatever happens to the session after:
	// an Update, Apply or Move of it, its Delete or its expiry changes
	// what Load and later Lends return, never a View lent before. found is
	// false, and the View nil, when the session does not exist or has
	// expired.
	Lend(ctx context.Context, id string, ttl time.Duration) (values View, found bool, err error)
}

// A View is a session's values as a Lender lends them: read-only, and safe
// for concurrent use. The slices it returns are shared with the store and
// with every other View of the same values: the caller must not change
// them (appending to one is safe, as for Load: a View's values are capped at
// their length), and copies what it wants to change.
type View interface {
	// Len returns how many values there are, metadata included.
	Len() int
	// Get returns the value of key, and whether there is one.
	Get(key string) (value []byte, ok bool)
	// All yields every key and its value, in no particular order.
	All() iter.Seq2[string, []byte]
	// Map returns the values in a new map, which the caller owns: it may
	// add, replace and delete entries. The slices are the View's, shared
	// as Get's are. It is how a caller that changes lent values copies
	// them: the iterator of All, called through an interface, costs two
	// allocations more.
	Map() map[string][]byte
}
