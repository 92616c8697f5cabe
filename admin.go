package session

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// SessionInfo describes a session of the application in a listing. It names
// the session by an opaque Handle, never by its ID.
type SessionInfo struct {
	// Handle names the session for Manager.Destroy and Manager.Peek. It is
	// not a token and reveals nothing about the ID; it changes when the
	// session is renewed or the newest signing key changes.
	Handle     string
	User       string // "" when nobody logged in
	Label      string // what the application said about the client at login
	Created    time.Time
	LastAccess time.Time // within Config.TouchInterval of the last request
	Expires    time.Time
}

func (m *Manager) sessionInfo(in store.Info) SessionInfo {
	return SessionInfo{
		Handle:     m.handles.of(in.ID),
		User:       in.User,
		Label:      in.Label,
		Created:    in.Created,
		LastAccess: in.LastAccess,
		Expires:    in.Expires,
	}
}

// index returns the store's index, or an error saying the store keeps none.
func (m *Manager) index(op string) (store.Indexer, error) {
	if m.reaper.stopped() {
		return nil, ErrClosed
	}
	if m.indexer == nil {
		return nil, fmt.Errorf("session: %s: %w", op, store.ErrNotIndexed)
	}
	return m.indexer, nil
}

// Count returns how many sessions of the application are live. Its cost is
// the store's: see the README's round-trip table (never a scan of the
// keyspace). It needs a store.Indexer.
func (m *Manager) Count(ctx context.Context) (int, error) {
	ix, err := m.index("Count")
	if err != nil {
		return 0, err
	}
	n, err := ix.Count(ctx)
	if err != nil {
		return 0, adminError("count", err)
	}
	return n, nil
}

// listPage is how many sessions Sessions asks the store for at a time.
const listPage = 500

// Sessions iterates over the application's live sessions, a page of the
// store's at a time. A session that stays live throughout is yielded once;
// one created or ended meanwhile may or may not be. An error ends the
// iteration as its last pair. It needs a store.Indexer.
func (m *Manager) Sessions(ctx context.Context) iter.Seq2[SessionInfo, error] {
	return func(yield func(SessionInfo, error) bool) {
		ix, err := m.index("Sessions")
		if err != nil {
			yield(SessionInfo{}, err)
			return
		}
		cursor := ""
		for {
			page, next, err := ix.List(ctx, cursor, listPage)
			if err != nil {
				// The cursor is a session ID in some stores.
				yield(SessionInfo{}, adminError("list", err, cursor))
				return
			}
			for _, in := range page {
				if !yield(m.sessionInfo(in), nil) {
					return
				}
			}
			if next == "" {
				return
			}
			cursor = next
		}
	}
}

// Snapshot is a session's values and description as Peek saw them.
type Snapshot struct {
	SessionInfo
	Values map[string][]byte // encoded by the Codec: read them with Get
	codec  Codec
}

// Get decodes the value under key into v, as Session.Get does.
func (s Snapshot) Get(key string, v any) (ok bool, err error) {
	return Expiry{Values: s.Values, codec: s.codec}.Get(key, v)
}

// Peek returns the values and description of the session a handle names,
// without renewing it. found is false when the session is not live. It needs
// a store.Indexer.
func (m *Manager) Peek(ctx context.Context, handle string) (snap Snapshot, found bool, err error) {
	ix, err := m.index("Peek")
	if err != nil {
		return snap, false, err
	}
	id := m.handles.id(handle)
	if id == "" {
		return snap, false, nil
	}
	rec, found, err := ix.Peek(ctx, id)
	if err != nil {
		return snap, false, adminError("peek", err, id)
	}
	if !found {
		return snap, false, nil
	}
	return Snapshot{SessionInfo: m.sessionInfo(rec.Info), Values: appValues(rec.Values), codec: m.cfg.Codec}, true, nil
}

// Destroy ends the session a handle names: its next request gets a fresh
// session (session_expired behind Require). OnDestroyed runs with
// ReasonAdmin and the farm hears of it. found is false when the session was
// not live. It needs a store.Indexer.
//
// A handle names one session ID. If the session is renewed (Renew, a
// login) at the moment Destroy runs, it may live on under its new ID, and
// Destroy reports found false: to end a user's sessions for certain, use
// DestroyUser, which lists them again after its removals.
func (m *Manager) Destroy(ctx context.Context, handle string) (found bool, err error) {
	if _, err := m.index("Destroy"); err != nil {
		return false, err
	}
	id := m.handles.id(handle)
	if id == "" {
		return false, nil
	}
	return m.remove(ctx, id, ReasonAdmin)
}

// remove ends session id on purpose and tells who needs to know.
func (m *Manager) remove(ctx context.Context, id string, reason Reason) (bool, error) {
	info, found, err := m.indexer.Remove(ctx, id)
	if err != nil {
		return false, adminError("remove", err, id)
	}
	if found {
		m.destroyed(ctx, id, info.User, reason)
	}
	return found, nil
}

// Clear ends every session of the application (ReasonCleared for each), or
// with onlyExpired, hands every expired one to the reaper at once (Reap). It
// returns how many it ended. It needs a store.Indexer (and store.Expirer
// for onlyExpired).
func (m *Manager) Clear(ctx context.Context, onlyExpired bool) (int, error) {
	if _, err := m.index("Clear"); err != nil {
		return 0, err
	}
	if onlyExpired {
		return m.Reap(ctx)
	}
	n := 0
	for info, err := range m.Sessions(ctx) {
		if err != nil {
			return n, err
		}
		found, err := m.remove(ctx, m.handles.id(info.Handle), ReasonCleared)
		if err != nil {
			return n, err
		}
		if found {
			n++
		}
	}
	return n, nil
}

// UserSessions lists the live sessions of user, oldest first: "your
// devices". A session's Handle equals Session.Handle for the request that
// holds it. It needs a store.Indexer.
func (m *Manager) UserSessions(ctx context.Context, user string) ([]SessionInfo, error) {
	ix, err := m.index("UserSessions")
	if err != nil {
		return nil, err
	}
	infos, err := ix.UserSessions(ctx, user)
	if err != nil {
		return nil, adminError("user sessions", err)
	}
	out := make([]SessionInfo, len(infos))
	for i, in := range infos {
		out[i] = m.sessionInfo(in)
	}
	return out, nil
}

// DestroyUser ends every session of user ("log out everywhere"), except the
// one keep holds when keep is not nil ("log out everywhere else"): pass the
// request's Session. OnDestroyed runs with ReasonLogoutEverywhere for each.
// It returns how many it ended. It needs a store.Indexer.
func (m *Manager) DestroyUser(ctx context.Context, user string, keep *Session) (int, error) {
	ix, err := m.index("DestroyUser")
	if err != nil {
		return 0, err
	}
	kept := keep.ids()
	n := 0
	// A session that renews its ID while it is being removed is listed
	// again under the new ID (the index gets it first): list until none is
	// left, within a bound that only a session renewing without pause
	// could reach.
	for range destroyUserPasses {
		infos, err := ix.UserSessions(ctx, user)
		if err != nil {
			return n, adminError("user sessions", err)
		}
		left := 0
		for _, in := range infos {
			if kept[in.ID] {
				continue
			}
			left++
			found, err := m.remove(ctx, in.ID, ReasonLogoutEverywhere)
			if err != nil {
				return n, err
			}
			if found {
				n++
			}
		}
		if left == 0 {
			return n, nil
		}
	}
	return n, fmt.Errorf("session: DestroyUser: %q still had sessions after %d passes: they renew as fast as they are removed", user, destroyUserPasses)
}

// destroyUserPasses bounds DestroyUser's passes over a user's sessions.
const destroyUserPasses = 8

// adminError wraps the failure of the store call op in ErrStore, with the
// session IDs it names (ids) redacted from its message.
func adminError(op string, err error, ids ...string) error {
	return fmt.Errorf("%w: %s: %w", ErrStore, op, redactID(err, ids...))
}
