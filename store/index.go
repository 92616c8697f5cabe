package store

import (
	"context"
	"errors"
	"time"
)

// Keys of the values that are the middleware's metadata about a session. An
// application key never starts with '@' (the middleware refuses it), so a
// store can tell metadata from values. Metadata values are raw UTF-8 text,
// not encoded by the middleware's Codec. A store keeps them like any other
// value; an Indexer also reads them.
const (
	// UserKey holds the user the session belongs to, set at login
	// (Session.Login). An Indexer lists sessions by it.
	UserKey = "@user"
	// LabelKey holds what the application said about the client at login,
	// such as "Firefox on Linux", for "your devices" listings.
	LabelKey = "@label"
)

// ErrNotIndexed is returned by the Indexer, Expirer and Limiter methods of a
// store whose index is switched off (Indexer.Indexed reports false).
var ErrNotIndexed = errors.New("session: the store keeps no index of its sessions: switch it on in the store's configuration")

// Info describes a stored session without its values. Its times are read
// from the store's clock (its Config.Now, where it has one).
type Info struct {
	ID    string
	User  string // the value of UserKey, its bytes unchanged; "" for none
	Label string // the value of LabelKey, its bytes unchanged; "" for none
	// Created is when the session was first stored; a Move keeps it.
	Created time.Time
	// LastAccess is when the session's time to live was last set: a Load
	// with a ttl, an Update, a Touch, a Move or its Create.
	LastAccess time.Time
	// Expires is when the session expires unless its time to live is set
	// again.
	Expires time.Time
}

// A Record is a stored session: what Info says, and its values (metadata
// included).
type Record struct {
	Info
	Values map[string][]byte
}

// An Indexer keeps an index of its sessions, by expiry and by user, so that
// they can be counted and listed without a scan of the whole store, and the
// sessions of one user found. Only live sessions are counted, listed, peeked
// or removed: an expired one is gone, as for Load, even while an Expirer
// still keeps it.
//
// The index by user follows UserKey whichever call writes it: Create, and
// the Delta of Update or Move, whose Set, Del or Clear may give a session a
// user, change it or take it away. A store that cannot change its user index
// in the same step as the session (Redis on a Cluster: another slot) adds
// the new user's entry first and drops stale entries when it reads them. A
// session whose UserKey is missing or empty has no user.
//
// A store whose index can be switched off by configuration implements
// Indexer and reports Indexed false; its other methods of this interface,
// and of Expirer and Limiter, then return ErrNotIndexed.
type Indexer interface {
	Store

	// Indexed reports whether the index is kept.
	Indexed() bool

	// Count returns how many sessions are live.
	Count(ctx context.Context) (int, error)

	// List returns up to limit live sessions that come after cursor ("" for
	// the first page) in the store's order, and the cursor of the next
	// page, "" after the last. A session that stays live from the first
	// page to the last is listed exactly once; one created or ended
	// meanwhile may or may not be. A page may hold fewer than limit
	// sessions, even none, and still have a next one: only next == ""
	// ends the listing. limit must be greater than zero.
	List(ctx context.Context, cursor string, limit int) (page []Info, next string, err error)

	// Peek returns session id's values (as Load would return them,
	// metadata included) and what Info says of it, without setting its
	// time to live or its LastAccess. found is false when it is not live.
	Peek(ctx context.Context, id string) (rec Record, found bool, err error)

	// Remove is Delete that also returns what it removed. A session that
	// expired is not removed (an Expirer keeps it for its claimer) and
	// found is false.
	Remove(ctx context.Context, id string) (info Info, found bool, err error)

	// UserSessions returns the live sessions whose UserKey is user, oldest
	// (by Created) first; sessions created at the same instant come in
	// any order. The index never misses such a session; entries left by
	// sessions that ended, or whose UserKey changed, are pruned, here or
	// earlier, so the index does not grow with sessions that are gone. A
	// user of "" has no sessions: sessions without a user are not indexed
	// by user.
	UserSessions(ctx context.Context, user string) ([]Info, error)
}

// An Expirer keeps the values of a session that expired for a retention
// period, during which Load and every other call treat the session as gone,
// and hands each expired session to one claimer at a time: the way a farm
// of servers acts on each expiry once (Config.OnExpired) without keyspace
// notifications or a server that must be listening at the time.
//
// An expired session stays expired: Load with a ttl, Update, Touch and Move
// report it not found and leave it as it is, to be claimed. Delete and
// Indexer.Remove report it not found and leave it too, so that a logout
// that comes after the expiry does not swallow the expiry's event. Its ID
// stays in use until it is reaped or forgotten: Create and Move onto it
// return ErrExists.
type Expirer interface {
	// ClaimExpired claims up to limit sessions that expired and that no
	// unexpired claim holds, each until lease from now, and returns them
	// with their values and metadata (Values is never nil for them, even
	// for a session without values); Info.Expires is when the session
	// expired. It returns fewer than limit only when no more were
	// claimable when it looked, so a claimer can stop at a short batch; a
	// limit of zero or less claims nothing. A claimed session that is not
	// reaped before its claim's lease ends is handed out again: its
	// claimer died or failed.
	//
	// Past the retention, a session's values may be gone and the store
	// may forget it at any time: a session that expired longer ago than
	// the store's retention is returned at most once more, with its ID and
	// nil Values (the rest of Info as far as the store still knows it),
	// and then never again, reaped or not.
	ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]Record, error)

	// Reap deletes the given sessions that expired, claimed or not, for
	// good, with whatever indexes them: their expiry was handled. A live
	// session is never reaped. Reaping an ID twice, one that is missing
	// or one that is live is not an error, and changes nothing.
	Reap(ctx context.Context, ids ...string) error
}

// ErrMaxSessions is returned by Limiter.Reserve's caller, the middleware,
// when a new session would take the store past the configured limit.
var ErrMaxSessions = errors.New("session: too many sessions")

// A Limiter counts sessions toward a limit on how many may be live at once,
// exactly, also when servers of a farm create sessions concurrently.
type Limiter interface {
	// Reserve counts id toward a limit of max live sessions, before the
	// session is stored under id (by Create or Move). It reports false,
	// counting nothing, when max or more are counted already; max 0 counts
	// id without a limit (a Move, which replaces a session counted
	// already). A session stops counting when it is deleted (also by
	// Indexer.Remove), moved away from or reaped; one that expired may
	// count until it is reaped or forgotten, since a store may learn of
	// an expiry only then. A reservation whose session was never stored
	// stops counting after a grace period of at least a minute and at
	// most an hour. Whether a session stored without a reservation counts
	// is up to the store: the middleware reserves every session it
	// creates while a limit is set.
	Reserve(ctx context.Context, id string, max int) (ok bool, err error)
}

// EventKind says what happened to a session.
type EventKind uint8

const (
	// Destroyed: ended on purpose (a logout, an administrator, a limit).
	Destroyed EventKind = iota + 1
	// Expired: timed out.
	Expired
)

// String returns "destroyed" or "expired".
func (k EventKind) String() string {
	switch k {
	case Destroyed:
		return "destroyed"
	case Expired:
		return "expired"
	}
	return "unknown"
}

// An Event is what every server of a farm hears about a session that ended.
type Event struct {
	Kind   EventKind
	ID     string
	User   string
	Reason string // why it was destroyed: "logout", "admin", ...; "" when it expired
}

// A Notifier carries events to every server that shares the store, as they
// happen: to whichever servers are subscribed at the time, at most once each
// (pub/sub). A server that is not listening misses them; the durable record
// of an expiry is the Expirer's claim.
type Notifier interface {
	// Publish sends e to every subscriber, on this server and others. It
	// fails, sending nothing, when ctx is done.
	Publish(ctx context.Context, e Event) error

	// Subscribe calls fn, on a goroutine of its own and one event at a
	// time, for every event published from the moment it returns until
	// ctx is done; done is closed when the last call to fn has returned,
	// and fn is never called after that. Events may reach fn in another
	// order than they were published in. It returns an error, and calls
	// fn never, when it cannot subscribe (also when ctx is done already).
	// Events published while the store cannot be reached are missed.
	Subscribe(ctx context.Context, fn func(Event)) (done <-chan struct{}, err error)
}
