package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// The request path of the indexed mode (Config.Index): the store.Store
// methods, which keep the index in step. See indexscripts.go for the data
// layout.
//
// Beside the shards' keys, two kinds of keys live in slots of their own:
// the application's @live set (see Reserve) and one sorted set per user
// (see userKey). A script cannot reach them in the same step as a session,
// so the store orders its writes to make a crash in between harmless:
//
//   - A session's entry in its user's set is written before the session
//     gets that user (Create, Update or Move with '@user' set): a crash in
//     between leaves an entry without a session, which UserSessions prunes,
//     never a session that UserSessions cannot find.
//   - Entries in @live and in user sets are removed after the session has
//     gone (Delete, Remove, Move, Reap): a crash in between leaves an entry
//     that is pruned later (see ClaimExpired and UserSessions), never a live
//     session that is not counted. Errors of this removal are not reported
//     to the caller, whose call did what it was asked: the entries are
//     pruned just the same.

// shardAlphabet holds the first characters of the IDs the middleware makes,
// base64url: one shard per character. The indexed mode walks these shards.
const shardAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// grace is how long an entry in @live or in a user's set may go without its
// session before it is pruned: the time a server may take between writing
// the entry and storing the session (see store.Limiter).
const grace = time.Minute

// shardKey returns the key of the per-shard index name ("@expiries",
// "@claims", "@ids") of shard c: "<Prefix>:<Application>:{<Application>:<c>}:<name>".
func (s *Store) shardKey(c, name string) string {
	return s.keyPrefix + c + "}:" + name
}

// shardPrefix returns what the keys of shard c's sessions start with.
func (s *Store) shardPrefix(c string) string {
	return s.keyPrefix + c + "}:"
}

// indexKeys returns the KEYS of the scripts that change session id: its key,
// and its shard's @expiries, @ids and @users.
func (s *Store) indexKeys(id string) []string {
	c := shard(id)
	return []string{s.key(id), s.shardKey(c, "@expiries"), s.shardKey(c, "@ids"), s.shardKey(c, "@users")}
}

// liveKey returns the key of the application's @live set,
// "<Prefix>:<Application>:{<Application>}:@live", in a slot of its own.
func (s *Store) liveKey() string {
	return s.appPrefix + "{" + s.app + "}:@live"
}

// userKey returns the key of the sorted set of user's sessions:
// "<Prefix>:<Application>:{<Application>:@user:<h>}:<user>", h being 16 hex
// digits of the SHA-256 of user. The hash tag holds the digest, not the
// user, so that a brace in a user name cannot change the tag; the users'
// sets spread over the slots, and the name after the tag keeps keys apart
// and readable in redis-cli.
func (s *Store) userKey(user string) string {
	sum := sha256.Sum256([]byte(user))
	return s.appPrefix + "{" + s.app + ":@user:" + hex.EncodeToString(sum[:8]) + "}:" + user
}

// indexable reports whether id starts with a character of shardAlphabet, so
// that the indexed mode finds it in its shards.
func indexable(id string) bool {
	return id != "" && strings.IndexByte(shardAlphabet, id[0]) >= 0
}

// loadIndexed is Load with the index: HGETALL, checked against @expires,
// without a ttl; with one, HGETALL and the touch script in one pipeline,
// the session being found when the touch found it live. Reading the hash
// with HGETALL beside the script costs Redis less than reading it inside
// (about 9 µs against 17 on the machine of the commit that chose it): a
// script pays for each redis.call and for every value it hands back.
func (s *Store) loadIndexed(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	now := s.now().UnixMilli()
	key := s.key(id)
	var m map[string]string
	if ttl <= 0 {
		var err error
		if m, err = s.client.HGetAll(ctx, key).Result(); err != nil {
			return nil, false, fmt.Errorf("redisstore: load: %w", err)
		}
		if len(m) == 0 || expired(m[expiresField], now) {
			return nil, false, nil
		}
	} else {
		keys := s.indexKeys(id)
		nowText, expires, pttl := s.stamps(now, ttl)
		args := []any{id, nowText, expires, pttl}
		run := func(eval func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) (*redis.MapStringStringCmd, *redis.Cmd) {
			pipe := s.client.Pipeline()
			fields := pipe.HGetAll(ctx, key)
			touched := eval(ctx, pipe, keys, args...)
			_, _ = pipe.Exec(ctx) // each command holds its own error
			return fields, touched
		}
		fields, touched := run(s.ix.touch.EvalSha)
		if redis.HasErrorPrefix(touched.Err(), "NOSCRIPT") {
			fields, touched = run(s.ix.touch.Eval)
		}
		res, err := touched.Slice()
		if err == nil {
			m, err = fields.Result()
		}
		if err != nil {
			return nil, false, fmt.Errorf("redisstore: load: %w", err)
		}
		// The touch found the session live an instant after HGETALL read
		// it: so it was then too.
		if integer(res, 0) == 0 || len(m) == 0 {
			return nil, false, nil
		}
		if joined := text(res, 1); joined != "" {
			s.join(ctx, joined, id, time.UnixMilli(now))
		}
	}
	return hashValues(m), true, nil
}

// createIndexed is Create with the index: the user's set first when values
// name a user, then a script.
func (s *Store) createIndexed(ctx context.Context, id string, values map[string][]byte, ttl time.Duration) error {
	if !indexable(id) {
		return fmt.Errorf("redisstore: create: session ID %q does not start with a base64url character: "+
			"with Index the store keeps sessions in shards named by the first character of the IDs the middleware makes; "+
			"use those IDs", id)
	}
	now := s.now()
	if user := string(values[store.UserKey]); user != "" && ttl > 0 {
		if err := s.addUser(ctx, user, id, now); err != nil {
			return fmt.Errorf("redisstore: create: %w", err)
		}
	}
	nowText, expires, pttl := s.stamps(now.UnixMilli(), ttl)
	if ttl <= 0 {
		pttl = "0"
	}
	args := make([]any, 0, 9+2*len(values))
	args = append(args, pttl, expires, id, createdField, nowText, accessField, nowText, expiresField, expires)
	for k, v := range values {
		args = append(args, encodeField(k), v)
	}
	created, err := s.ix.create.Run(ctx, s.client, s.indexKeys(id), args...).Int()
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	if created == 0 {
		return store.ErrExists
	}
	return nil
}

// writeIndexed is Update and Apply with the index (see write). When d sets
// '@user', the user's set gets the session first; when the script reports
// that the session belonged to another user before, that user's entry goes
// after.
func (s *Store) writeIndexed(ctx context.Context, op, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if ttl <= 0 {
		found, _, err := s.end(ctx, op, id)
		return nil, found, err
	}
	now := s.now()
	user, setsUser := d.Set[store.UserKey]
	if setsUser && len(user) > 0 {
		if err := s.addUser(ctx, string(user), id, now); err != nil {
			return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
		}
	}
	nowText, expires, pttl := s.stamps(now.UnixMilli(), ttl)
	script, args := s.ix.update, deltaArgs(d, ttl, maxKeys)
	var at addTake
	if addsOrTakes(d) {
		script = s.ix.apply
		args, at = addTakeArgs(args, d)
	}
	args = append(args, id, 1, nowText, expires, pttl)
	res, err := script.Run(ctx, s.client, s.indexKeys(id), args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	var (
		values map[string][]byte
		found  bool
	)
	if script == s.ix.apply {
		values, found, err = at.result(op, res, 3)
	} else {
		found, err = deltaResult(op, int(integer(res, 0)))
	}
	if found && changesUser(d) {
		if old := text(res, 1); old != "" && old != string(user) {
			s.cleanup(ctx, nil, map[string][]string{old: {id}})
		}
	}
	if joined := text(res, 2); found && joined != "" {
		s.join(ctx, joined, id, now)
	}
	return values, found, err
}

// join adds a session that joined the index at a write or touch (it was
// stored while the index was off) to its user's set. Errors are dropped:
// the session's next write or touch does not try again, so its user's
// listing misses it until it ends, which the README says.
func (s *Store) join(ctx context.Context, user, id string, now time.Time) {
	_ = s.addUser(ctx, user, id, now)
}

// moveIndexed is Move with the index. The new ID goes into its user's set
// first: the user d sets, known at once, or the old session's, which the
// script names when it refuses a move whose user's set lacks the new ID
// (moveMaxAttempts times at most). After the move, the old ID leaves @live
// and its user's set.
func (s *Store) moveIndexed(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if ttl <= 0 {
		found, _, err := s.end(ctx, "move", from)
		return found, err
	}
	now := s.now()
	indexed := string(d.Set[store.UserKey]) // the user whose set holds to
	c := shard(from)
	keys := []string{s.key(from), s.key(to), s.shardKey(c, "@expiries"), s.shardKey(c, "@ids"), s.shardKey(c, "@users")}
	for attempt := 1; ; attempt++ {
		if indexed != "" {
			if err := s.addUser(ctx, indexed, to, now); err != nil {
				return false, fmt.Errorf("redisstore: move: %w", err)
			}
		}
		nowText, expires, pttl := s.stamps(now.UnixMilli(), ttl)
		args := append(deltaArgs(d, ttl, maxKeys), from, to, indexed, 3, nowText, expires, pttl)
		res, err := s.ix.move.Run(ctx, s.client, keys, args...).Slice()
		if err != nil {
			return false, fmt.Errorf("redisstore: move: %w", err)
		}
		switch result := int(integer(res, 0)); result {
		case -3:
			if attempt == moveMaxAttempts {
				return false, fmt.Errorf("redisstore: move: the user of session %q changed %d times while it was moved: try again", from, attempt)
			}
			indexed = text(res, 1)
		case -2:
			return false, store.ErrExists
		default:
			found, err := deltaResult("move", result)
			if found {
				var users map[string][]string
				if old := text(res, 1); old != "" {
					users = map[string][]string{old: {from}}
				}
				s.cleanup(ctx, []string{from}, users)
			}
			return found, err
		}
	}
}

// moveMaxAttempts bounds the attempts of a Move whose session's user keeps
// changing under it: the second attempt succeeds unless a concurrent Update
// sets another user in between.
const moveMaxAttempts = 3

// touchIndexed is Touch with the index: one script.
func (s *Store) touchIndexed(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		found, _, err := s.end(ctx, "touch", id)
		return found, err
	}
	at := s.now()
	now, expires, pttl := s.stamps(at.UnixMilli(), ttl)
	res, err := s.ix.touch.Run(ctx, s.client, s.indexKeys(id), id, now, expires, pttl).Slice()
	if err != nil {
		return false, fmt.Errorf("redisstore: touch: %w", err)
	}
	found := integer(res, 0) == 1
	if joined := text(res, 1); found && joined != "" {
		s.join(ctx, joined, id, at)
	}
	return found, nil
}

// end deletes live session id with its index entries, and returns what it
// was: one script, then, when it found the session, one pipeline that takes
// it out of @live and its user's set. op names the caller in errors.
func (s *Store) end(ctx context.Context, op, id string) (bool, store.Info, error) {
	m, err := s.ix.end.Run(ctx, s.client, s.indexKeys(id), id, s.now().UnixMilli()).Slice()
	if err != nil {
		return false, store.Info{}, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if len(m) == 0 {
		return false, store.Info{}, nil
	}
	info := parseInfo(id, m[0], m[1], m[2], m[3], m[4])
	var users map[string][]string
	if info.User != "" {
		users = map[string][]string{info.User: {id}}
	}
	s.cleanup(ctx, []string{id}, users)
	return true, info, nil
}

// stamps returns what the scripts that set a session's time to live write,
// as the strings Redis stores: now, the new @expires (now + ttl) and the
// key's time to live (ttl + retention), in milliseconds. Strings, because
// Redis 7 turns a number computed in Lua into an argument with a costly
// printf.
func (s *Store) stamps(now int64, ttl time.Duration) (nowText, expires, pttl string) {
	ms := milliseconds(ttl)
	return strconv.FormatInt(now, 10), strconv.FormatInt(now+ms, 10), strconv.FormatInt(ms+milliseconds(s.retention), 10)
}

// addUser writes id into user's set, scored with now: the time of the
// write, which UserSessions compares with grace before it prunes an entry.
func (s *Store) addUser(ctx context.Context, user, id string, now time.Time) error {
	return s.client.ZAdd(ctx, s.userKey(user), redis.Z{Score: float64(now.UnixMilli()), Member: id}).Err()
}

// cleanup removes, in one pipeline, ids from @live and each users[u] from
// u's set: the entries of sessions that have gone. Its errors are dropped:
// an entry left behind is pruned later (see the top of this file).
func (s *Store) cleanup(ctx context.Context, ids []string, users map[string][]string) {
	if len(ids) == 0 && len(users) == 0 {
		return
	}
	pipe := s.client.Pipeline()
	if len(ids) > 0 {
		pipe.ZRem(ctx, s.liveKey(), anys(ids)...)
	}
	for user, ids := range users {
		pipe.ZRem(ctx, s.userKey(user), anys(ids)...)
	}
	_, _ = pipe.Exec(ctx)
}

// changesUser reports whether applying d may change the session's '@user'
// (a Clear keeps it).
func changesUser(d store.Delta) bool {
	_, set := d.Set[store.UserKey]
	return set || slices.Contains(d.Del, store.UserKey)
}

// Metadata fields of the indexed mode, beside createdField.
const (
	expiresField = "@expires" // logical expiry, unix milliseconds; 0 once claimed
	accessField  = "@access"  // last time the time to live was set, unix milliseconds
	claimedField = "@claimed" // a claimed session's expiry, unix milliseconds
)

// Hash fields of the metadata that package store keeps as values.
var (
	userField  = encodeField(store.UserKey)
	labelField = encodeField(store.LabelKey)
)

// expired reports whether a session whose @expires field is v has expired
// at now (unix milliseconds). A session without the field was stored
// without the index, and lives while its key does.
func expired(v string, now int64) bool {
	if v == "" {
		return false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	return err == nil && ms <= now
}

// valuesOf returns the values in h, the flat field, value array of HGETALL
// run by a script.
func valuesOf(h []any) map[string][]byte {
	values := make(map[string][]byte, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		f, _ := h[i].(string)
		if k, ok := decodeField(f); ok {
			v, _ := h[i+1].(string)
			values[k] = []byte(v)
		}
	}
	return values
}

// hashInfo returns what the fields m of session id's hash say of it.
func hashInfo(id string, m map[string]string) store.Info {
	expires := m[expiresField]
	if claimed, ok := m[claimedField]; ok {
		expires = claimed
	}
	return store.Info{
		ID:         id,
		User:       m[userField],
		Label:      m[labelField],
		Created:    unixMilli(m[createdField]),
		LastAccess: unixMilli(m[accessField]),
		Expires:    unixMilli(expires),
	}
}

// parseInfo returns the Info of session id from the replies of a script:
// @created, @expires, @access, '@user' and '@label', each a string or nil.
func parseInfo(id string, created, expires, access, user, label any) store.Info {
	str := func(v any) string { s, _ := v.(string); return s }
	return store.Info{
		ID:         id,
		User:       str(user),
		Label:      str(label),
		Created:    unixMilli(str(created)),
		LastAccess: unixMilli(str(access)),
		Expires:    unixMilli(str(expires)),
	}
}

// unixMilli returns the time of a metadata field, or the zero time for a
// missing one.
func unixMilli(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// integer returns element i of a script's reply as an integer, or 0.
func integer(reply []any, i int) int64 {
	if i >= len(reply) {
		return 0
	}
	n, _ := reply[i].(int64)
	return n
}

// text returns element i of a script's reply as a string, or "".
func text(reply []any, i int) string {
	if i >= len(reply) {
		return ""
	}
	s, _ := reply[i].(string)
	return s
}

// anys returns ss as a []any, for commands that take members.
func anys(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}
