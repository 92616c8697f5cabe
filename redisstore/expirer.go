package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// claimRounds bounds the rounds of one ClaimExpired: a round finds fewer
// sessions than it counted only when another server claimed them first, and
// the next round counts again. ClaimExpired returns fewer than its limit
// only when a round found nothing more due, or after claimRounds rounds of
// such races.
const claimRounds = 8

// ClaimExpired claims up to limit expired sessions, each until lease from
// now, and returns them with their values and metadata (see store.Expirer).
//
// A round counts the due entries of every shard (ZCOUNT of @expiries and of
// @claims whose lease ran out, pipelined: one round trip per master), then
// runs the claim script on the shards that have some, taking as many from
// each as the limit allows, starting at a random shard so that the servers
// of a farm spread over the shards, in one more pipeline. With nothing due
// that is one round trip per master and no script; a round that finds fewer
// than it counted (another server was quicker) is followed by another, up
// to claimRounds.
//
// It also keeps the Limiter exact: the first round reads the entries of
// @live due for a check, and a last pipeline asks whether their sessions
// are still stored, dropping the entries of those that are not (a
// reservation never used, a delete whose cleanup was lost) and of the
// sessions this call found gone for good (see Reserve). That upkeep reports
// no errors: the next call does it again.
func (s *Store) ClaimExpired(ctx context.Context, limit int, lease time.Duration) ([]store.Record, error) {
	if !s.indexed {
		return nil, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: claim expired: %w", err)
	}
	if lease <= 0 {
		return nil, fmt.Errorf("redisstore: claim expired: lease %v: give claims a lease longer than the hooks run", lease)
	}
	if limit <= 0 {
		return nil, nil
	}
	now := s.now()
	ms := now.UnixMilli()
	deadline := now.Add(lease).UnixMilli()
	start := rand.IntN(len(shardAlphabet))
	var (
		records   []store.Record
		forgotten []string                // sessions found gone for good
		users     = map[string][]string{} // their users, whose sets lose them
		live      []redis.Z               // entries of @live due for a check
	)
	for round := range claimRounds {
		remaining := limit - len(records)
		if remaining == 0 {
			break
		}
		pipe := s.client.Pipeline()
		expiries := make([]*redis.IntCmd, len(shardAlphabet))
		claims := make([]*redis.IntCmd, len(shardAlphabet))
		nowText := strconv.FormatInt(ms, 10)
		for i := range shardAlphabet {
			c := shardAlphabet[i : i+1]
			expiries[i] = pipe.ZCount(ctx, s.shardKey(c, "@expiries"), "-inf", nowText)
			claims[i] = pipe.ZCount(ctx, s.shardKey(c, "@claims"), "-inf", nowText)
		}
		var checks *redis.ZSliceCmd
		if round == 0 {
			checks = pipe.ZRangeByScoreWithScores(ctx, s.liveKey(), &redis.ZRangeBy{Min: "-inf", Max: nowText, Count: int64(limit)})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redisstore: claim expired: %w", err)
		}
		if checks != nil {
			live = checks.Val()
		}
		var calls []*scriptCall
		asked := 0
		for j := range shardAlphabet {
			if remaining == 0 {
				break
			}
			i := (start + j) % len(shardAlphabet)
			due := int(expiries[i].Val() + claims[i].Val())
			if due == 0 {
				continue
			}
			take := min(due, remaining)
			remaining -= take
			asked += take
			c := shardAlphabet[i : i+1]
			calls = append(calls, &scriptCall{
				script: s.ix.claim,
				keys:   []string{s.shardKey(c, "@expiries"), s.shardKey(c, "@claims"), s.shardKey(c, "@ids"), s.shardKey(c, "@users")},
				args:   []any{ms, deadline, take, s.shardPrefix(c)},
			})
		}
		if len(calls) == 0 {
			break
		}
		// Claims made by calls that succeed while another fails are handed
		// out again when their lease ends.
		if err := s.evalAll(ctx, calls); err != nil {
			return nil, fmt.Errorf("redisstore: claim expired: %w", err)
		}
		got := 0
		for _, call := range calls {
			reply, _ := call.cmd.Slice()
			for _, r := range reply {
				rec, ok := parseClaim(r)
				if !ok {
					continue
				}
				got++
				records = append(records, rec)
				if rec.Values == nil {
					forgotten = append(forgotten, rec.ID)
					if rec.User != "" {
						users[rec.User] = append(users[rec.User], rec.ID)
					}
				}
			}
		}
		if got == asked {
			// Every shard gave what it was counted for: the limit is
			// reached, or nothing more was due.
			break
		}
	}
	s.cleanup(ctx, nil, users)
	_ = s.checkLive(ctx, ms, live, forgotten)
	return records, nil
}

// parseClaim returns the Record of one session that claimSource returned.
func parseClaim(r any) (store.Record, bool) {
	f, _ := r.([]any)
	if len(f) == 0 {
		return store.Record{}, false
	}
	id, _ := f[0].(string)
	if user, forgotten := f[1].(string); forgotten {
		return store.Record{Info: store.Info{ID: id, User: user}}, true
	}
	h, _ := f[1].([]any)
	m := make(map[string]string, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		k, _ := h[i].(string)
		v, _ := h[i+1].(string)
		m[k] = v
	}
	return store.Record{Info: hashInfo(id, m), Values: valuesOf(h)}, true
}

// checkLive is the upkeep of @live: it drops the entries of sessions that
// are gone, and sets each other entry of due, as read at now, to be checked
// again when its session expires (a minute from now at the earliest).
// Entries that changed since they were read are left alone: a Reserve or
// another check wrote them. It returns how many entries it dropped (with
// forgotten, which it drops unchecked). Errors are dropped: the next check
// does the work again.
func (s *Store) checkLive(ctx context.Context, now int64, due []redis.Z, forgotten []string) int {
	if len(due) == 0 && len(forgotten) == 0 {
		return 0
	}
	pipe := s.client.Pipeline()
	if len(forgotten) > 0 {
		pipe.ZRem(ctx, s.liveKey(), anys(forgotten)...)
	}
	fields := make([]*redis.SliceCmd, len(due))
	for i, z := range due {
		id, _ := z.Member.(string)
		fields[i] = pipe.HMGet(ctx, s.key(id), createdField, expiresField)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0
	}
	args := make([]any, 0, 3*len(due))
	for i, z := range due {
		f := fields[i].Val()
		next := ""
		if len(f) == 2 && f[0] != nil {
			// Stored: check again once it may have ended. Without
			// @expires (stored before the index) its key's time to live
			// is unknown here: check again after a retention.
			at := now + s.retention.Milliseconds()
			if exp, ok := f[1].(string); ok {
				at, _ = strconv.ParseInt(exp, 10, 64)
			}
			next = strconv.FormatInt(max(at, now+grace.Milliseconds()), 10)
		}
		args = append(args, z.Member, strconv.FormatFloat(z.Score, 'f', -1, 64), next)
	}
	if len(args) == 0 {
		return len(forgotten)
	}
	// reconcileSource changes the entries it may; count the drops among them.
	if err := s.ix.reconcile.Run(ctx, s.client, []string{s.liveKey()}, args...).Err(); err != nil {
		return len(forgotten)
	}
	dropped := len(forgotten)
	for i := 2; i < len(args); i += 3 {
		if args[i] == "" {
			dropped++
		}
	}
	return dropped
}

// Reap deletes sessions that were claimed and handled, with their index
// entries: one script per shard concerned (pipelined: one round trip per
// master), then one pipeline that takes them out of @live and their users'
// sets. A session that is live is left alone; one that is gone already is
// not an error.
func (s *Store) Reap(ctx context.Context, ids ...string) error {
	if !s.indexed {
		return store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: reap: %w", err)
	}
	byShard := make(map[string][]any)
	for _, id := range ids {
		if indexable(id) {
			byShard[shard(id)] = append(byShard[shard(id)], id)
		}
	}
	if len(byShard) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	calls := make([]*scriptCall, 0, len(byShard))
	for c, ids := range byShard {
		calls = append(calls, &scriptCall{
			script: s.ix.reap,
			keys:   []string{s.shardKey(c, "@expiries"), s.shardKey(c, "@claims"), s.shardKey(c, "@ids"), s.shardKey(c, "@users")},
			args:   append([]any{now, s.shardPrefix(c)}, ids...),
		})
	}
	if err := s.evalAll(ctx, calls); err != nil {
		return fmt.Errorf("redisstore: reap: %w", err)
	}
	var (
		reaped []string
		users  = make(map[string][]string)
	)
	for _, call := range calls {
		reply, _ := call.cmd.Slice()
		for i := 0; i+1 < len(reply); i += 2 {
			id, user := text(reply, i), text(reply, i+1)
			reaped = append(reaped, id)
			if user != "" {
				users[user] = append(users[user], id)
			}
		}
	}
	s.cleanup(ctx, reaped, users)
	return nil
}
