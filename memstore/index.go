package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// index records that session id of sh belongs to user; an empty user is
// none. The caller holds sh.mu.
func (sh *shard) index(id string, user []byte) {
	if len(user) == 0 {
		return
	}
	if sh.users == nil {
		sh.users = make(map[string]map[string]struct{})
	}
	ids := sh.users[string(user)]
	if ids == nil {
		ids = make(map[string]struct{}, 1)
		sh.users[string(user)] = ids
	}
	ids[id] = struct{}{}
}

// unindex forgets that session id of sh belongs to user, and the user once
// it has no session left here. The caller holds sh.mu.
func (sh *shard) unindex(id string, user []byte) {
	if len(user) == 0 {
		return
	}
	ids := sh.users[string(user)]
	delete(ids, id)
	if len(ids) == 0 {
		delete(sh.users, string(user))
	}
}

// reindex moves entry e of session id from user old to the user its values
// now name, if that changed. The caller holds sh.mu.
func (sh *shard) reindex(id string, e *entry, old []byte) {
	user, _ := e.values.Get(store.UserKey)
	if bytes.Equal(old, user) {
		return
	}
	sh.unindex(id, old)
	sh.index(id, user)
	e.indexed = len(user) > 0
}

// info returns what store.Info says of entry e of session id. The caller
// holds the lock of its shard.
func (e *entry) info(id string) store.Info {
	return store.Info{
		ID:         id,
		User:       string(e.user()),
		Label:      string(e.label()),
		Created:    time.Unix(0, e.created),
		LastAccess: time.Unix(0, e.access),
		Expires:    time.Unix(0, e.expires.UnixNano()),
	}
}

// label returns the label of entry e's session; nil for none.
func (e *entry) label() []byte {
	label, _ := e.values.Get(store.LabelKey)
	return label
}

// Indexed reports true: a Store always keeps its index.
func (s *Store) Indexed() bool { return true }

// Count returns how many sessions are live. It counts them one shard at a
// time: O(n), which in memory is fast enough for an administrator's call
// and costs the request path nothing.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.Len(), nil
}

// List returns up to limit live sessions after cursor, in the order of
// their shards and, within a shard, of their IDs; the cursor is the last ID
// listed. Each page scans and sorts the IDs of at least one shard (1/32 of
// the store), holding its lock only while it copies them out and while it
// reads the sessions of the page.
func (s *Store) List(ctx context.Context, cursor string, limit int) ([]store.Info, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", nil
	}
	first := 0
	if cursor != "" {
		first = shardOf(cursor)
	}
	var (
		page []store.Info
		last string
		ids  []string
	)
	for i := first; i < numShards && len(page) < limit; i++ {
		sh := &s.shards[i]
		ids = ids[:0]
		sh.mu.Lock()
		for id := range sh.entries {
			if cursor == "" || i != first || id > cursor {
				ids = append(ids, id)
			}
		}
		sh.mu.Unlock()
		slices.Sort(ids)
		now := s.now()
		sh.mu.Lock()
		for _, id := range ids {
			if len(page) == limit {
				break
			}
			last = id
			if e, ok := s.live(sh, id, now); ok {
				page = append(page, e.info(id))
			}
		}
		sh.mu.Unlock()
	}
	if len(page) < limit {
		last = "" // every shard was read to its end
	}
	return page, last, nil
}

// Peek returns the values and Info of live session id, leaving its time to
// live as it is.
func (s *Store) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := s.live(sh, id, s.now())
	if !ok {
		return store.Record{}, false, nil
	}
	return store.Record{Info: e.info(id), Values: e.values.clone()}, true, nil
}

// Remove deletes live session id and returns its Info. An expired session
// stays for its claimer.
func (s *Store) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Info{}, false, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := s.live(sh, id, s.now())
	if !ok {
		return store.Info{}, false, nil
	}
	s.drop(sh, id, e)
	return e.info(id), true, nil
}

// UserSessions returns the live sessions of user, oldest first. It looks
// user up in each shard's index: O(shards + the user's sessions).
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil
	}
	var infos []store.Info
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id := range sh.users[user] {
			if e, ok := sh.entries[id]; ok && !e.expired(now) {
				infos = append(infos, e.info(id))
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(infos, func(a, b store.Info) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return infos, nil
}
