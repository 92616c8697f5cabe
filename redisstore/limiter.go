package redisstore

import (
	"context"
	"fmt"

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
// checked (ClaimExpired), never when a session is read, written or touched.
// An entry whose session is never stored, or whose removal was lost, stops
// counting when ClaimExpired next checks it, a minute after Reserve at the
// earliest: the manager's reaper, which calls ClaimExpired, must run for
// such entries to go.
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
	check := s.now().Add(grace).UnixMilli()
	n, err := s.ix.reserve.Run(ctx, s.client, []string{s.liveKey()}, id, max, check).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: reserve: %w", err)
	}
	return n == 1, nil
}
