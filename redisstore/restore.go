package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/rdb"
	"github.com/seed58a3dad2/session/store"
)

// Create writes a new session, on a server that allows it, with RESTORE of
// the session's whole hash (see rdb.Hash) and its time to live: one command
// that refuses with BUSYKEY when the key exists, so that Create still never
// overwrites a session, and that costs Redis what SET costs, about 4
// microseconds of CPU less than the create script's EXISTS, HSET and
// PEXPIRE (bench/rediscpu). RESTORE is in the @dangerous ACL category and
// some servers that speak the protocol do not restore a hash (miniredis
// stores the payload as a string), so a Store tries it once, on a probe
// key, before its first Create, and runs the create script from then on
// when the server refuses RESTORE or does not give back the hash.

// restoreState is what a Store knows of its server's RESTORE.
type restoreState int32

const (
	restoreUntried restoreState = iota // not probed yet, or the probe did not reach the server or met a passing state (see passing)
	restoreWorks                       // the server restored the probe's hash
	restoreRefused                     // the server refused RESTORE, or stored something else
)

// createRestored creates session id holding values, and '@created', with
// RESTORE, and reports ok=false, having written nothing, when the server
// does not restore hashes: the caller then runs the create script.
func (s *Store) createRestored(ctx context.Context, id string, values map[string][]byte, ttl time.Duration) (ok bool, err error) {
	if !s.restores(ctx) {
		return false, nil
	}
	pairs := make([][]byte, 0, 2+2*len(values))
	pairs = append(pairs, []byte(createdField), strconv.AppendInt(nil, s.now().UnixMilli(), 10))
	for k, v := range values {
		pairs = append(pairs, []byte(encodeField(k)), v)
	}
	err = s.client.Restore(ctx, s.key(id), roundUp(ttl), string(rdb.Hash(pairs))).Err()
	switch {
	case err == nil:
		return true, nil
	case redis.HasErrorPrefix(err, "BUSYKEY"):
		return true, store.ErrExists
	case !isReply(err) || passing(err):
		return true, fmt.Errorf("redisstore: create: %w", err)
	}
	// Refused since the probe, such as by an ACL changed meanwhile.
	s.restore.Store(int32(restoreRefused))
	return false, nil
}

// passing reports whether err is an error reply that tells of the server's
// state rather than of RESTORE: out of memory, a read-only replica, loading
// its data, busy with a script, its Cluster or primary down. The create
// script would fail alike; the next Create tries RESTORE again. Any other
// error reply (NOPERM, an unknown command, a payload it does not read)
// means the server refuses RESTORE.
func passing(err error) bool {
	for _, prefix := range []string{"OOM", "READONLY", "LOADING", "BUSY ", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS", "MISCONF"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

// restores reports whether Create may use RESTORE, probing the server the
// first time: RESTORE of a hash on a key of its own, then TYPE and HGET to
// see that the server made a hash of it, in one pipeline.
func (s *Store) restores(ctx context.Context) bool {
	switch restoreState(s.restore.Load()) {
	case restoreWorks:
		return true
	case restoreRefused:
		return false
	}
	key := s.appPrefix + "@restore-probe:" + rand.Text()
	var (
		restore *redis.StatusCmd
		typ     *redis.StatusCmd
		val     *redis.StringCmd
	)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		restore = p.Restore(ctx, key, time.Minute, string(rdb.Hash([][]byte{[]byte("f"), []byte("v")})))
		typ = p.Type(ctx, key)
		val = p.HGet(ctx, key, "f")
		p.Del(ctx, key)
		return nil
	})
	switch {
	case err != nil && !isReply(err), passing(restore.Err()):
		return false // not reached, or in a passing state: probe again next time
	case err == nil && typ.Val() == "hash" && val.Val() == "v":
		s.restore.Store(int32(restoreWorks))
		return true
	}
	s.restore.Store(int32(restoreRefused))
	return false
}

// isReply reports whether err is an error reply of the server, rather than
// one of the connection or the context, after which the server may or may
// not have run the command.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}
