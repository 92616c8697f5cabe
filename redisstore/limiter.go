package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/store"
)

// Reserve counts id toward a limit of max live sessions of the application
// (see store.Limiter): one script on the application's @live sorted set,
// "<Prefix>:<Application>:{<Application>}:@live", which maps each session
// counted to when the store next checks that it is still stored. Refusing at
// max and counting happen in one step, so servers that create sessions at
// once never count past max.
//
// @live is the one key of an application that every creation goes through,
// so it sits in one Cluster slot; it is written only when a session is
// created (Reserve), ends (Delete, Remove, Move from its old ID, Reap) or is
// checked, never when a session is read, written or touched.
//
// An entry whose session was never stored (or whose removal was lost) is
// due for a check a minute after Reserve, and goes at the first check that
// finds no session: ClaimExpired checks due entries on every call, and a
// Reserve that finds the limit reached checks up to limitChecks of them
// before it refuses, then tries once more if that freed a place. A refusal
// so costs one round trip more (ZRANGEBYSCORE) when no entry is due, and
// three more (HMGET each, pipelined; the update of @live; the second try)
// when some are.
func (s *Store) Reserve(ctx context.Context, id string, max int) (bool, error) {
	if !s.indexed {
		return false, store.ErrNotIndexed
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: reserve: %w", err)
	}
	if max < 0 {
		return false, fmt.Errorf("redisstore: reserve: max %d: give a limit of zero (none) or more", max)
	}
	reserve := func() (bool, error) {
		check := s.now().Add(grace).UnixMilli()
		n, err := s.ix.reserve.Run(ctx, s.client, []string{s.liveKey()}, id, max, check).Int()
		if err != nil {
			return false, fmt.Errorf("redisstore: reserve: %w", err)
		}
		return n == 1, nil
	}
	ok, err := reserve()
	if ok || err != nil {
		return ok, err
	}
	now := s.now().UnixMilli()
	due, err := s.client.ZRangeByScoreWithScores(ctx, s.liveKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now, 10), Count: limitChecks,
	}).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: reserve: %w", err)
	}
	if s.checkLive(ctx, now, due, nil) == 0 {
		return false, nil
	}
	return reserve()
}

// limitChecks is how many entries of @live a refused Reserve checks at
// most: enough to find the few stale ones among many, few enough that a
// refusal stays cheap.
const limitChecks = 100
