// Package migratestore moves an application's sessions from one store to
// another while clients use them, so that nobody is logged out: from
// memstore to redisstore when one server becomes a farm, from one Redis to
// another, from Redis to SQL. A Store wraps the old store and the new one.
// It creates new sessions in the new store; it reads a session from the new
// store, and when that does not have it, moves it over from the old one;
// it writes in the new store, moving the session there first; it deletes
// from both. Once the old store's sessions have all moved or expired
// (Remaining reports 0, or MoveAll moved the rest), the old store can go,
// and the Store be replaced by the new store.
//
//	st := migratestore.New(oldStore, redisstore.New(client, redisstore.Config{Index: true}), migratestore.Config{})
//	m, err := session.New(session.Config{Store: st, Keys: keys})
//	// ... later, from an administrator's command:
//	moved, err := st.MoveAll(ctx)
//	left, err := st.Remaining(ctx) // 0: deploy with the new store alone
//
// # How a session moves
//
// A call that does not find the session in the new store reads it from the
// old one, creates it in the new one, then deletes it from the old one,
// and then does what it was asked in the new store. The copy keeps the
// expiry the session had in the old store when the old store keeps an
// index (store.Indexer: its Peek says when the session expires), so that a
// write the new store then refuses extends nothing; a Load or a Touch gives
// it their time to live. With an old store without an index, a write gives
// the copy the write's time to live, and a Load without one (the middleware
// loads so when no touch is due) gives it Config.TTL, or, when TTL is 0,
// reads the session from the old store and leaves it there for its next
// write or touch. A moved session has the Created and LastAccess of its
// move in store.Info: the new store cannot be told otherwise.
//
// Moving costs a session three store calls on top of the one it was used
// for, once: a Load of a session still in the old store is a Load of the
// new one, a Peek (or a Load) of the old one, a Create in the new one and
// a Delete from the old one; a write adds its own call at the end. A
// session in the new store costs what it costs there, one call; one in
// neither costs three (new, old, new again: see below). Delete and Remove
// cost two calls, one per store.
//
// # Races
//
// The old store is never written while sessions move, except by deletes, so
// a copy made from it is the session as it is. Then:
//
//   - Two calls that move one session at once: the new store's Create lets
//     one win; the other gets store.ErrExists, leaves the old store to the
//     winner and uses the winner's copy. Nothing is lost: every write goes to
//     the new store, after the move.
//   - A read racing a move: the copy is made before the old store's session
//     is deleted, so the session is always in one store or both. A call that
//     missed it in the new store and then in the old one looks in the new
//     store once more, where a move that ended in between put it.
//   - A write racing a move lands in the copy, the session the client keeps
//     using; an Add (store.Delta.Add) or a Take happens once, in the new
//     store. A renewal (Move) of a session still in the old store moves it,
//     then renews it in the new store.
//   - A logout racing a move: Delete and Remove delete from the old store
//     first, then from the new one. A mover whose delete from the old store
//     then finds nothing knows that the session ended (or expired) while it
//     copied it, and deletes its copy: the session stays ended. Until it
//     does (its next call), a request may still find the copy; a request
//     that starts after the mover returned never does.
//   - A session that expires in the old store while it moves: the mover's
//     delete finds nothing, so it deletes its copy (and reaps it, if it
//     expired too): the expiry fires once, from the old store.
//   - A client that goes away does not cut a move short: once the copy is
//     made, the rest runs to its deadline whatever the request's context
//     says. If the old store fails to delete, the call fails and the copy is
//     kept; the old store's stale copy expires in its time, and ClaimExpired
//     drops it rather than fire an expiry for a session that is live in the
//     new store.
//
// Create, and Move onto a new ID, ask only the new store whether the ID is
// in use: IDs are 122 random bits, so one that the old store holds would
// be a bug in their maker, not a clash worth a call per login.
//
// # Rollout
//
// Servers that still use the old store alone must not serve the farm once
// sessions move: they would not find the sessions that moved (their users
// would be logged out), a logout there would leave the session's copy in
// the new store alive, and a write there between a mover's read and its
// delete would be lost. Either switch every server at once, or deploy in
// two steps with Config.MoveFrom, an instant after the deploy will have
// reached every server:
//
//  1. Deploy the Store with MoveFrom in the future. Until then it reads
//     through: it creates sessions in the old store and uses each session
//     where it is, looking in the old store first, and deletes from both;
//     its events (Publish) go through the old store. It serves a farm
//     beside servers that use the old store alone, with nothing lost.
//  2. At MoveFrom, every server starts moving sessions at once. Their clocks
//     must agree (NTP does): a write that one server began in place just
//     before MoveFrom and a move of the same session just after it on a
//     server whose clock runs ahead could lose that write. MoveAll refuses
//     to run before MoveFrom (ErrReadingThrough).
//  3. Once Remaining reports 0 (after MoveAll, or one IdleTimeout after
//     MoveFrom, when every session of the old store has been used, and so
//     moved, or has expired) and the reaper has run once more, deploy the
//     new store alone.
//
// # Capabilities during a migration
//
// The Manager finds a store's capabilities by type assertion, so a Store
// implements them all but store.Lender (a session it moves is a copy, with
// nothing to lend), and reports Indexed true only when both stores keep an
// index and are store.Expirers and store.Limiters (memstore, redisstore
// with Index, sqlstore). Otherwise the methods of store.Indexer,
// store.Expirer and store.Limiter return store.ErrNotIndexed and the
// Manager refuses the features that need them (OnExpired, MaxSessions,
// MaxUserSessions): an index of the new store alone would miss the
// sessions still in the old one, and "log out everywhere" would miss them
// too. While Indexed:
//
//   - Count counts both stores; a session that moves meanwhile may count
//     twice. List lists the old store, then the new one (its cursors name
//     the store: "o:..." then "n:..."), so that a session that moves during
//     a listing is listed once or twice, never missed. Peek looks in both
//     and moves nothing. Remove removes from both, old first.
//     UserSessions merges both, each session once, ordered by Created,
//     which for a moved session is its move's.
//   - ClaimExpired claims from the new store, then from the old one, so
//     that a session that expires before it moves still reaches OnExpired,
//     once; Reap reaps from both.
//   - Reserve (MaxSessions) counts in the new store, where sessions are
//     created (in the old one while the Store reads through): sessions
//     still in the old store are not counted, so the farm may hold up to
//     MaxSessions plus Remaining. A session counts in the new store from its
//     move on.
//
// Publish sends each event through one store: the new one, or the old one
// while the Store reads through (or whichever of the two is a
// store.Notifier). Subscribe listens to both, so that a server hears the
// events of servers on the old store alone, of those that read through and
// of those that move sessions, each once, one at a time.
//
// A Store is not store.Nonblocking, even on two memstores: the Manager
// bounds its calls with StoreTimeout.
package migratestore
