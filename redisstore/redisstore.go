package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Prefix starts every key, to keep sessions apart from other data in
	// the same Redis. It must not contain '{' or '}'. Default: "session".
	Prefix string
	// Application follows Prefix in every key, so that several
	// applications can share one Redis without sharing sessions. It must
	// not contain '{' or '}'. Default: "default".
	Application string
	// Now returns the current time, recorded when a session is created.
	// Without Index, expiry does not depend on it: times to live are
	// relative and counted by Redis. With Index, a session's expiry is a
	// time read from Now, and every server of the application compares it
	// with its own Now: their clocks must agree closely (NTP does), since
	// a skew of d ends a session up to d early or late. Default: time.Now.
	Now func() time.Time
	// Index keeps an index of the application's sessions beside them (see
	// the package documentation for the keys), which the Store's
	// capabilities store.Indexer, store.Expirer and store.Limiter need:
	// without it their methods return store.ErrNotIndexed. It makes each
	// session's expiry logical: a session past it is gone for every call,
	// while its data stays for Retention more for ClaimExpired. Every
	// server of an application must run with the same Index and
	// Retention. Switching Index on keeps the sessions stored without it:
	// each joins the index at its next write or touch; switching it off
	// and on again does not: a session written while it was off keeps the
	// expiry it had in the index, and ends then. It costs Redis
	// memory: 714 bytes per session instead of 247 (measured on Redis 7.0
	// with two small values, half the sessions logged in and all counted
	// toward a limit), mostly the entries of the sorted sets, and CPU:
	// about twice the microseconds per touch or write (BenchmarkIndexCost).
	// Default: false.
	Index bool
	// Retention is how long, with Index, the values of a session that
	// expired are kept for ClaimExpired to hand out; a session expired
	// longer ago is handed out once without its values. A server farm
	// whose reapers all stop for longer than Retention loses the values
	// of what expired meanwhile. Default: 1 hour.
	Retention time.Duration
}

// createdField is the metadata field that Create writes and nothing removes,
// so that a session without values still exists.
const createdField = "@created"

// ErrCrossShard is returned by Store.Move when the new ID does not start
// with the first character of the old one; nothing is sent to Redis. The two
// keys would be in different shards, which on a Cluster are different hash
// slots that one script cannot touch together, so Move refuses on every
// deployment rather than only on a Cluster. The middleware never asks for
// such a move: a renewed ID keeps the first character (see package store).
var ErrCrossShard = errors.New("redisstore: move: the new session ID must start with the same character as the old one, to stay in its shard")

// Store keeps sessions in Redis, one hash per session, under the key
// "<Prefix>:<Application>:{<Application>:<c>}:<id>", where c is the first
// character of the ID: each application has 64 shards, one per base64url
// character, and a shard's sessions share a Cluster hash slot. It implements
// store.Store and store.Notifier, and store.Indexer, store.Expirer and
// store.Limiter, whose methods need Config.Index. It is safe for concurrent
// use.
type Store struct {
	client    redis.UniversalClient
	keyPrefix string // "<Prefix>:<Application>:{<Application>:"
	appPrefix string // "<Prefix>:<Application>:"
	app       string // Config.Application
	now       func() time.Time
	create    *redis.Script
	update    *redis.Script
	apply     *redis.Script
	move      *redis.Script

	restore atomic.Int32 // a restoreState: whether Create may use RESTORE

	indexed   bool          // Config.Index
	retention time.Duration // Config.Retention
	ix        indexScripts  // the scripts of the indexed mode
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Indexer  = (*Store)(nil)
	_ store.Expirer  = (*Store)(nil)
	_ store.Limiter  = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// New returns a Store that keeps sessions in the Redis that client talks to:
// a single server (redis.NewClient), a Sentinel-managed primary
// (redis.NewFailoverClient) or a Cluster (redis.NewClusterClient). The Store
// does not close client. New panics if client is nil or cfg is invalid.
//
// Every call must end at its context's deadline, which go-redis honours only
// when its options set ContextTimeoutEnabled: true. New panics if client is a
// *redis.Client, *redis.ClusterClient or *redis.Ring whose options do not.
// A client of any other type, such as a wrapper, is accepted as it is, and
// must honour deadlines itself.
func New(client redis.UniversalClient, cfg Config) *Store {
	if client == nil {
		panic("redisstore: nil client")
	}
	checkClient(client)
	if cfg.Prefix == "" {
		cfg.Prefix = "session"
	}
	if cfg.Application == "" {
		cfg.Application = "default"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention < 0 {
		panic(fmt.Sprintf("redisstore: negative Retention %v", cfg.Retention))
	}
	if cfg.Retention == 0 {
		cfg.Retention = time.Hour
	}
	// A brace in either would change the Cluster hash tag: it could lose
	// the shard character and put every session in one slot.
	if strings.ContainsAny(cfg.Prefix, "{}") || strings.ContainsAny(cfg.Application, "{}") {
		panic(fmt.Sprintf("redisstore: Prefix %q and Application %q must not contain '{' or '}'", cfg.Prefix, cfg.Application))
	}
	return &Store{
		client:    client,
		keyPrefix: cfg.Prefix + ":" + cfg.Application + ":{" + cfg.Application + ":",
		appPrefix: cfg.Prefix + ":" + cfg.Application + ":",
		app:       cfg.Application,
		now:       cfg.Now,
		create:    redis.NewScript(createSource),
		update:    redis.NewScript(updateSource),
		apply:     redis.NewScript(applySource),
		move:      redis.NewScript(moveSource),
		indexed:   cfg.Index,
		retention: cfg.Retention,
		ix:        newIndexScripts(),
	}
}

// key returns the Redis key of session id:
// "<Prefix>:<Application>:{<Application>:<c>}:<id>", c being the first
// character of id. The braces hold the Cluster hash tag, which names the
// shard rather than the session: a session and the ID it is renewed to (which
// keeps the first character) share a slot, so Move is one script.
//
// The form "<Prefix>:<Application>:{<Application>:<c>}:@<name>" is reserved
// for per-shard keys, such as an index of the shard's sessions, which can
// then change in the same script as a session. '@' never occurs in the
// base64url IDs the middleware makes, so such a key is never a session's.
func (s *Store) key(id string) string {
	return s.keyPrefix + shard(id) + "}:" + id
}

// shard returns the first character of id, which names its shard, or "" for
// an empty id. IDs are base64url, so the first byte is the first character.
func shard(id string) string {
	if id == "" {
		return ""
	}
	return id[:1]
}

// Load returns a copy of the values of session id. With ttl greater than zero
// it also sets the session's time to live, in the same pipeline: one round
// trip either way. With Config.Index, a Load with a ttl is one script, which
// also moves the session's entry in the expiry index, and a Load without is
// HGETALL, checked against the session's expiry.
func (s *Store) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redisstore: load: %w", err)
	}
	if s.indexed {
		return s.loadIndexed(ctx, id, ttl)
	}
	key := s.key(id)
	var fields *redis.MapStringStringCmd
	if ttl > 0 {
		pipe := s.client.Pipeline()
		fields = pipe.HGetAll(ctx, key)
		pipe.PExpire(ctx, key, roundUp(ttl)) // answers 0 for a missing key: harmless
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("redisstore: load: %w", err)
		}
	} else {
		fields = s.client.HGetAll(ctx, key)
	}
	m, err := fields.Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: load: %w", err)
	}
	if len(m) == 0 {
		return nil, false, nil
	}
	return hashValues(m), true, nil
}

// hashValues returns the values of a session's hash, as HGETALL answered
// it, leaving out the metadata fields. Their bytes are copied into one
// buffer, each slice capped at its own length so that appending to one
// cannot overwrite the next: one allocation for all of them.
func hashValues(m map[string]string) map[string][]byte {
	size := 0
	for _, v := range m {
		size += len(v)
	}
	buf := make([]byte, 0, size)
	values := make(map[string][]byte, len(m))
	for f, v := range m {
		if k, ok := decodeField(f); ok {
			start := len(buf)
			buf = append(buf, v...)
			values[k] = buf[start:len(buf):len(buf)]
		}
	}
	return values
}

// Create stores a new session with the given values, expiring after ttl, in
// one round trip: one RESTORE of the session's hash, or, on a server that
// does not allow RESTORE (see restore.go) and for a ttl of zero or less,
// the create script. The Store's first Create probes RESTORE first, in one
// round trip more. A ttl of zero or less creates a session that has already
// expired. With Config.Index the script also indexes the session, and values
// that name a user ('@user') cost one round trip more, before it: a ZADD to
// the user's set; an ID that does not start with a base64url character, as
// the middleware's IDs do, is refused with an error.
func (s *Store) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	if maxKeys > 0 && len(values) > maxKeys {
		return store.ErrTooManyKeys
	}
	if s.indexed {
		return s.createIndexed(ctx, id, values, ttl)
	}
	if ttl > 0 {
		if ok, err := s.createRestored(ctx, id, values, ttl); ok {
			return err
		}
	}
	args := make([]any, 0, 3+2*len(values))
	args = append(args, milliseconds(ttl), createdField, s.now().UnixMilli())
	for k, v := range values {
		args = append(args, encodeField(k), v)
	}
	created, err := s.create.Run(ctx, s.client, []string{s.key(id)}, args...).Int()
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	if created == 0 {
		return store.ErrExists
	}
	return nil
}

// Update applies d to session id and sets its time to live to ttl, in one
// round trip. A ttl of zero or less ends the session. With Config.Index the
// script also moves the session's entry in the expiry index; a d that sets
// '@user' costs one round trip more before it (a ZADD to the user's set),
// and one that takes the session from a user one more after it (a ZREM from
// that user's set). A d that adds or takes costs what Apply costs.
func (s *Store) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	_, found, err := s.write(ctx, "update", id, d, ttl, maxKeys)
	return found, err
}

// write is Update and Apply, op naming which in errors: the update script
// for a Delta that neither adds nor takes, the apply script for one that
// does.
func (s *Store) write(ctx context.Context, op, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if s.indexed {
		return s.writeIndexed(ctx, op, id, d, ttl, maxKeys)
	}
	if ttl <= 0 {
		// PEXPIRE would delete the key and HSET bring it back without a
		// time to live: delete outright instead.
		n, err := s.client.Del(ctx, s.key(id)).Result()
		if err != nil {
			return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		return nil, n == 1, nil
	}
	if addsOrTakes(d) {
		return s.addTake(ctx, op, id, d, ttl, maxKeys)
	}
	result, err := s.update.Run(ctx, s.client, []string{s.key(id)}, deltaArgs(d, ttl, maxKeys)...).Int()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	found, err := deltaResult(op, result)
	return nil, found, err
}

// Move renames session from to to, applies d and sets the time to live to
// ttl, in one round trip. A ttl of zero or less ends the session. With
// Config.Index the script also moves the index entries to the new ID; the
// new ID goes into its user's set before (one round trip more when d sets
// '@user'; two when the session had a user that d does not set: the script
// names the user, then runs again), and the old ID leaves @live and its
// user's set after (one round trip more, pipelined).
//
// from and to must start with the same character, which keeps them in one
// shard (see Store); otherwise Move returns ErrCrossShard and sends nothing,
// on every deployment, so that a caller that breaks the rule finds out
// before it runs on a Cluster. A ttl of zero or less ends from whatever to
// is, as the store contract says.
func (s *Store) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if ttl > 0 && shard(from) != shard(to) {
		return false, ErrCrossShard
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: move: %w", err)
	}
	if s.indexed {
		return s.moveIndexed(ctx, from, to, d, ttl, maxKeys)
	}
	if ttl <= 0 {
		n, err := s.client.Del(ctx, s.key(from)).Result()
		if err != nil {
			return false, fmt.Errorf("redisstore: move: %w", err)
		}
		return n == 1, nil
	}
	result, err := s.move.Run(ctx, s.client, []string{s.key(from), s.key(to)}, deltaArgs(d, ttl, maxKeys)...).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: move: %w", err)
	}
	if result == -2 {
		return false, store.ErrExists
	}
	return deltaResult("move", result)
}

// deltaArgs returns the ARGV of the scripts that apply a Delta (luaDelta).
func deltaArgs(d store.Delta, ttl time.Duration, maxKeys int) []any {
	clear := "0"
	if d.Clear {
		clear = "1"
	}
	args := make([]any, 0, 4+len(d.Del)+2*len(d.Set))
	args = append(args, milliseconds(ttl), max(maxKeys, 0), clear, len(d.Del))
	for _, k := range d.Del {
		args = append(args, encodeField(k))
	}
	for k, v := range d.Set {
		args = append(args, encodeField(k), v)
	}
	return args
}

// deltaResult turns the answer of a script that applies a Delta into found
// and an error.
func deltaResult(op string, result int) (bool, error) {
	switch result {
	case 1:
		return true, nil
	case 0:
		return false, nil
	case -1:
		return false, store.ErrTooManyKeys
	default:
		return false, fmt.Errorf("redisstore: %s: unexpected script result %d", op, result)
	}
}

// Touch sets the time to live of session id to ttl with one PEXPIRE. A ttl of
// zero or less ends the session. With Config.Index it is one script, which
// also moves the session's entry in the expiry index.
func (s *Store) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: touch: %w", err)
	}
	if s.indexed {
		return s.touchIndexed(ctx, id, ttl)
	}
	var (
		found bool
		err   error
	)
	if ttl > 0 {
		found, err = s.client.PExpire(ctx, s.key(id), roundUp(ttl)).Result()
	} else {
		var n int64
		n, err = s.client.Del(ctx, s.key(id)).Result()
		found = n == 1
	}
	if err != nil {
		return false, fmt.Errorf("redisstore: touch: %w", err)
	}
	return found, nil
}

// Delete removes session id with one DEL, and reports whether it existed.
// With Config.Index it is one script that also removes the session's index
// entries, and, when it found the session, one pipeline after it that takes
// the session out of @live and its user's set. A session that expired is
// not deleted (it waits for ClaimExpired) and is reported not found.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: delete: %w", err)
	}
	if s.indexed {
		found, _, err := s.end(ctx, "delete", id)
		return found, err
	}
	n, err := s.client.Del(ctx, s.key(id)).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: delete: %w", err)
	}
	return n == 1, nil
}

// roundUp rounds a positive ttl up to whole milliseconds, the unit of
// PEXPIRE, so that a session never lives shorter than asked; a ttl within a
// millisecond of the largest Duration, which has no whole millisecond above
// it, is rounded down instead of overflowing into a negative one, which
// would end the session at once.
func roundUp(ttl time.Duration) time.Duration {
	if ttl > math.MaxInt64-time.Millisecond+1 {
		return ttl.Truncate(time.Millisecond)
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
}

// milliseconds returns ttl in whole milliseconds, rounded up when positive.
func milliseconds(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return int64(roundUp(ttl) / time.Millisecond)
}

// encodeField returns the hash field that holds value key. Fields starting
// with '@' are metadata, so a key starting with '@' is stored behind a '!',
// and so is a key starting with '!', which keeps the mapping reversible.
func encodeField(key string) string {
	if strings.HasPrefix(key, "@") || strings.HasPrefix(key, "!") {
		return "!" + key
	}
	return key
}

// decodeField returns the value key stored in field, or ok=false for a
// metadata field.
func decodeField(field string) (key string, ok bool) {
	switch {
	case strings.HasPrefix(field, "@"):
		return "", false
	case strings.HasPrefix(field, "!"):
		return field[1:], true
	default:
		return field, true
	}
}
