package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// Indexed reports whether the store keeps an index of its sessions:
// Config.Index.
func (s *Store) Indexed() bool {
	return s.indexed
}

// Count returns how many sessions of the application are live: the sum of
// ZCOUNT over the 64 shards' @expiries, sent as one pipeline, which is one
// round trip to a single server and one to each master, at once, on a
// Cluster. Sessions stored before Index was switched on count from their
// next write or touch.
func (s *Store) Count(ctx context.Context) (int, error) {
	if !s.indexed {
		return 0, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: count: %w", err)
	}
	after := "(" + strconv.FormatInt(s.now().UnixMilli(), 10)
	pipe := s.client.Pipeline()
	counts := make([]*redis.IntCmd, len(shardAlphabet))
	for i := range shardAlphabet {
		counts[i] = pipe.ZCount(ctx, s.shardKey(shardAlphabet[i:i+1], "@expiries"), after, "+inf")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("redisstore: count: %w", err)
	}
	n := 0
	for _, c := range counts {
		n += int(c.Val())
	}
	return n, nil
}

// List returns up to limit live sessions after cursor, in the order of
// their shards (by the first character of the ID, in base64url order), and
// within a shard in byte order of the IDs, which never change: a session is
// listed once however often it is touched while the pages are read. The
// cursor names a shard and the last ID listed in it.
//
// Each page reads one shard in its first round trip, and, while the page is
// not full, twice as many shards as before in each further one (pipelined:
// one round trip per master on a Cluster), so a page takes at most seven
// round trips however sparse the shards. A shard is read with a script that
// looks at up to 2×limit+16 IDs of its @ids set and returns the live ones
// with their metadata (HMGET each); a shard holding more expired sessions
// than that, not reaped yet, takes a round trip more.
func (s *Store) List(ctx context.Context, cursor string, limit int) ([]store.Info, string, error) {
	if !s.indexed {
		return nil, "", store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("redisstore: list: %w", err)
	}
	if limit <= 0 {
		return nil, "", fmt.Errorf("redisstore: list: limit %d: ask for one session or more", limit)
	}
	first, after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	now := s.now().UnixMilli()
	var page []store.Info
	for width := 1; first < len(shardAlphabet); width *= 2 {
		remaining := limit - len(page)
		calls := make([]*scriptCall, 0, width)
		for i := first; i < min(first+width, len(shardAlphabet)); i++ {
			c := shardAlphabet[i : i+1]
			from := ""
			if i == first {
				from = after
			}
			calls = append(calls, &scriptCall{
				script: s.ix.list,
				keys:   []string{s.shardKey(c, "@ids")},
				args:   []any{now, from, remaining, s.shardPrefix(c), 2*remaining + 16},
			})
		}
		if err := s.evalAll(ctx, calls); err != nil {
			return nil, "", fmt.Errorf("redisstore: list: %w", err)
		}
		base := first
		for i, call := range calls {
			shardIndex := base + i
			reply, _ := call.cmd.Slice()
			last, done, infos := parseListReply(reply)
			if len(page)+len(infos) >= limit {
				taken := infos[:limit-len(page)]
				page = append(page, taken...)
				if len(taken) == len(infos) && done {
					return page, makeCursor(shardIndex+1, ""), nil
				}
				if len(taken) == len(infos) {
					return page, makeCursor(shardIndex, last), nil
				}
				return page, makeCursor(shardIndex, taken[len(taken)-1].ID), nil
			}
			page = append(page, infos...)
			if !done {
				// Go on in this shard, from where its script stopped;
				// the replies of the shards after it are dropped.
				first, after = shardIndex, last
				break
			}
			first, after = shardIndex+1, ""
		}
	}
	return page, "", nil
}

// parseListReply returns what listSource replied: the last ID it looked at,
// whether the shard has no more after it, and the live sessions it found.
func parseListReply(reply []any) (last string, done bool, infos []store.Info) {
	last = text(reply, 0)
	done = integer(reply, 1) == 1
	if len(reply) < 3 {
		return last, done, nil
	}
	entries, _ := reply[2].([]any)
	infos = make([]store.Info, 0, len(entries))
	for _, e := range entries {
		f, _ := e.([]any)
		if len(f) < 6 {
			continue
		}
		id, _ := f[0].(string)
		infos = append(infos, parseInfo(id, f[1], f[2], f[3], f[4], f[5]))
	}
	return last, done, infos
}

// makeCursor returns the cursor of the page that starts after ID after in
// the shard at index i of shardAlphabet: the shard's character, then after.
// It returns "" past the last shard.
func makeCursor(i int, after string) string {
	if i >= len(shardAlphabet) {
		return ""
	}
	return shardAlphabet[i:i+1] + after
}

// errCursor is returned by List for a cursor it did not make.
var errCursor = errors.New("redisstore: list: not a cursor that List returned: start again from the first page with \"\"")

// parseCursor returns the shard index and the ID after which a page starts.
func parseCursor(cursor string) (int, string, error) {
	if cursor == "" {
		return 0, "", nil
	}
	i := strings.IndexByte(shardAlphabet, cursor[0])
	if i < 0 {
		return 0, "", errCursor
	}
	return i, cursor[1:], nil
}

// Peek returns session id's values and metadata without setting its time
// to live: one HGETALL.
func (s *Store) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	if !s.indexed {
		return store.Record{}, false, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, fmt.Errorf("redisstore: peek: %w", err)
	}
	m, err := s.client.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redisstore: peek: %w", err)
	}
	if len(m) == 0 || expired(m[expiresField], s.now().UnixMilli()) {
		return store.Record{}, false, nil
	}
	return store.Record{Info: hashInfo(id, m), Values: hashValues(m)}, true, nil
}

// Remove deletes live session id and returns what it was: one script, then,
// when it found the session, one pipeline that takes it out of @live and its
// user's set, as Delete. A session that expired is not removed: it waits for
// ClaimExpired.
func (s *Store) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	if !s.indexed {
		return store.Info{}, false, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return store.Info{}, false, fmt.Errorf("redisstore: remove: %w", err)
	}
	found, info, err := s.end(ctx, "remove", id)
	return info, found, err
}

// UserSessions returns the live sessions whose '@user' value is user,
// oldest first. It reads the user's sorted set (ZRANGE: one round trip),
// then the metadata of each session in it (HMGET each, pipelined: one round
// trip, to each master concerned on a Cluster). Entries whose session has
// gone or belongs to another user by now, and that were written longer
// than a minute ago (younger ones may belong to a session being stored at
// this moment), are pruned with one more round trip, which leaves alone an
// entry written again meanwhile; Redis deletes the set with its last entry.
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	if !s.indexed {
		return nil, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: user sessions: %w", err)
	}
	if user == "" {
		return nil, nil
	}
	key := s.userKey(user)
	entries, err := s.client.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: user sessions: %w", err)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	fields := make([]*redis.SliceCmd, len(entries))
	for i, e := range entries {
		id, _ := e.Member.(string)
		fields[i] = pipe.HMGet(ctx, s.key(id), createdField, expiresField, accessField, userField, labelField)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: user sessions: %w", err)
	}
	now := s.now().UnixMilli()
	var (
		infos []store.Info
		prune []any // member, score, "" triples for reconcileSource
	)
	for i, e := range entries {
		id, _ := e.Member.(string)
		f := fields[i].Val()
		if len(f) == 5 && f[0] != nil && f[3] == user {
			if exp, _ := f[1].(string); !expired(exp, now) {
				infos = append(infos, parseInfo(id, f[0], f[1], f[2], f[3], f[4]))
				continue
			}
		}
		if int64(e.Score) < now-grace.Milliseconds() {
			prune = append(prune, id, strconv.FormatFloat(e.Score, 'f', -1, 64), "")
		}
	}
	if len(prune) > 0 {
		// Pruning is upkeep: the list is right without it, and the next
		// call prunes what this one could not.
		_ = s.ix.reconcile.Run(ctx, s.client, []string{key}, prune...).Err()
	}
	slices.SortFunc(infos, func(a, b store.Info) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return infos, nil
}
