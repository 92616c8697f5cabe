package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/rdb"
	"github.com/seed58a3dad2/session/redisstore"
)

// The candidate write paths of issue 13 item 3, run with the arguments the
// store sends (see redisstore's scripts.go), so that only the path
// differs. Each case's name says which guarantee it would cost: "keeps
// all" for those that keep no lost update, no resurrection, exact MaxKeys
// and a Create that never overwrites.

// createLean is the create script without the chunked helper: EXISTS,
// HSET, PEXPIRE.
const createLean = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, unpack(ARGV, 2))
redis.call('PEXPIRE', key, ARGV[1])
return 1
`

// createHSetNX guards with HSETNX of '@created', which every session has.
const createHSetNX = `
local key = KEYS[1]
if redis.call('HSETNX', key, ARGV[2], ARGV[3]) == 0 then
  return 0
end
if #ARGV > 3 then
  redis.call('HSET', key, unpack(ARGV, 4))
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
`

// createDetect writes first and tells from HSET's count of new fields
// whether the key existed: it detects an overwrite, after the fact.
const createDetect = `
local key = KEYS[1]
local added = redis.call('HSET', key, unpack(ARGV, 2))
redis.call('PEXPIRE', key, ARGV[1])
if added * 2 ~= #ARGV - 1 then
  return 0
end
return 1
`

// updateLean is the update script's path for a Delta that only sets, under
// MaxKeys, without the helpers: HLEN, HSET, PEXPIRE.
const updateLean = `
local key = KEYS[1]
local n = redis.call('HLEN', key)
if n == 0 then
  return 0
end
if n - 1 + (#ARGV - 4) / 2 > tonumber(ARGV[2]) then
  return -1
end
redis.call('HSET', key, unpack(ARGV, 5))
redis.call('PEXPIRE', key, ARGV[1])
return 1
`

// updateOne guards with PEXPIRE, then sets one field, and counts with HLEN
// only when HSET added it; over MaxKeys it deletes the field it added
// again. A refused write has set the time to live.
const updateOne = `
local key = KEYS[1]
if redis.call('PEXPIRE', key, ARGV[1]) == 0 then
  return 0
end
if redis.call('HSET', key, ARGV[5], ARGV[6]) == 1 and redis.call('HLEN', key) - 1 > tonumber(ARGV[2]) then
  redis.call('HDEL', key, ARGV[5])
  return -1
end
return 1
`

// library holds the same paths as Redis functions (FUNCTION LOAD, FCALL):
// loaded once, their helpers defined once at load rather than at each call.
const library = `#!lua name=rediscpu
redis.register_function('create', function(keys, args)
  local key = keys[1]
  if redis.call('EXISTS', key) == 1 then
    return 0
  end
  redis.call('HSET', key, unpack(args, 2))
  redis.call('PEXPIRE', key, args[1])
  return 1
end)
redis.register_function('update', function(keys, args)
  local key = keys[1]
  local n = redis.call('HLEN', key)
  if n == 0 then
    return 0
  end
  if n - 1 + (#args - 4) / 2 > tonumber(args[2]) then
    return -1
  end
  redis.call('HSET', key, unpack(args, 5))
  redis.call('PEXPIRE', key, args[1])
  return 1
end)
redis.register_function('update_one', function(keys, args)
  local key = keys[1]
  if redis.call('PEXPIRE', key, args[1]) == 0 then
    return 0
  end
  if redis.call('HSET', key, args[5], args[6]) == 1 and redis.call('HLEN', key) - 1 > tonumber(args[2]) then
    redis.call('HDEL', key, args[5])
    return -1
  end
  return 1
end)
`

// candidates returns the candidate cases. ids are the sessions the
// updates cycle over; plain is the store in its plain mode, for the
// populating and for the figures without MaxKeys.
func candidates(client *redis.Client, plain *redisstore.Store, ids []string) []benchCase {
	key := func(id string) string { return "session:bench:{bench:" + id[:1] + "}:" + id }
	id := func(i int) string { return ids[i%len(ids)] }
	ms := int64(ttl / time.Millisecond)
	createArgs := func() []any {
		return []any{ms, "@created", time.Now().UnixMilli(), "user", loginValues["user"], "n", loginValues["n"]}
	}
	updateArgs := func(field string) []any { return []any{ms, maxKeys, "0", 0, field, "7"} }
	populate := func(ctx context.Context) error {
		for _, id := range ids {
			if err := plain.Create(ctx, id, loginValues, ttl, maxKeys); err != nil {
				return err
			}
		}
		return nil
	}
	withLibrary := func(ctx context.Context) error {
		if err := client.FunctionLoadReplace(ctx, library).Err(); err != nil {
			return err
		}
		return populate(ctx)
	}
	wantOne := func(cmd *redis.Cmd) error {
		n, err := cmd.Int()
		if err == nil && n != 1 {
			err = fmt.Errorf("script answered %d, want 1", n)
		}
		return err
	}
	createWith := func(script *redis.Script) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			return wantOne(script.Run(ctx, client, []string{key(newID())}, createArgs()...))
		}
	}
	updateWith := func(script *redis.Script, field func(i int) string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			return wantOne(script.Run(ctx, client, []string{key(id(i))}, updateArgs(field(i))...))
		}
	}
	existing := func(int) string { return "n" }
	added := func(i int) string { return "new" + strconv.Itoa(i) }

	return []benchCase{
		{name: "create candidate: lean script, EXISTS HSET PEXPIRE (keeps all)", top: []string{"evalsha", "eval"},
			op: createWith(redis.NewScript(createLean))},
		{name: "create candidate: lean script, HSETNX HSET PEXPIRE (keeps all)", top: []string{"evalsha", "eval"},
			op: createWith(redis.NewScript(createHSetNX))},
		{name: "create candidate: function, FCALL EXISTS HSET PEXPIRE (keeps all; Redis 7)", top: []string{"fcall"},
			setup: withLibrary,
			op: func(ctx context.Context, i int) error {
				return wantOne(client.FCall(ctx, "create", []string{key(newID())}, createArgs()...))
			}},
		{name: "create candidate: EVAL at every call, the cost of one NOSCRIPT fallback (keeps all)", top: []string{"eval"},
			op: func(ctx context.Context, i int) error {
				return wantOne(client.Eval(ctx, createLean, []string{key(newID())}, createArgs()...))
			}},
		{name: "create candidate: RESTORE of a DUMP payload, BUSYKEY when the key exists (keeps all; RESTORE is @dangerous)", top: []string{"restore"},
			op: func(ctx context.Context, i int) error {
				payload := rdb.Hash([][]byte{[]byte("@created"), strconv.AppendInt(nil, time.Now().UnixMilli(), 10),
					[]byte("user"), loginValues["user"], []byte("n"), loginValues["n"]})
				return client.Restore(ctx, key(newID()), ttl, string(payload)).Err()
			}},
		{name: "script floor: EVALSHA of 'return 1'", top: []string{"evalsha", "eval"},
			op: func(ctx context.Context, i int) error {
				return wantOne(redis.NewScript("return 1").Run(ctx, client, []string{key(newID())}, createArgs()...))
			}},
		{name: "script floor: EVALSHA of one PEXPIRE", top: []string{"evalsha", "eval"}, setup: populate,
			op: func(ctx context.Context, i int) error {
				return wantOne(redis.NewScript("return redis.call('PEXPIRE', KEYS[1], ARGV[1])").Run(ctx, client, []string{key(id(i))}, updateArgs("n")...))
			}},
		{name: "create candidate: script HSET PEXPIRE, overwrite detected after the fact (costs: never overwrites)", top: []string{"evalsha", "eval"},
			op: createWith(redis.NewScript(createDetect))},
		{name: "create candidate: MULTI HSET PEXPIRE EXEC (costs: never overwrites)", top: []string{"multi", "exec"},
			op: func(ctx context.Context, i int) error {
				k := key(newID())
				_, err := client.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.HSet(ctx, k, createArgs()[1:]...)
					p.PExpire(ctx, k, ttl)
					return nil
				})
				return err
			}},
		{name: "create candidate: pipeline HSET PEXPIRE (costs: never overwrites; atomicity)", top: []string{"hset", "pexpire"},
			op: func(ctx context.Context, i int) error {
				k := key(newID())
				_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
					p.HSet(ctx, k, createArgs()[1:]...)
					p.PExpire(ctx, k, ttl)
					return nil
				})
				return err
			}},

		{name: "update candidate: lean script, HLEN HSET PEXPIRE (keeps all)", top: []string{"evalsha", "eval"},
			setup: populate, op: updateWith(redis.NewScript(updateLean), existing)},
		{name: "update candidate: PEXPIRE HSET, HLEN only when a field is added; value exists (keeps all)", top: []string{"evalsha", "eval"},
			setup: populate, op: updateWith(redis.NewScript(updateOne), existing)},
		{name: "update candidate: PEXPIRE HSET, HLEN only when a field is added; new value (keeps all)", top: []string{"evalsha", "eval"},
			setup: populate, op: updateWith(redis.NewScript(updateOne), added)},
		{name: "update candidate: function, FCALL HLEN HSET PEXPIRE (keeps all; Redis 7)", top: []string{"fcall"},
			setup: withLibrary,
			op: func(ctx context.Context, i int) error {
				return wantOne(client.FCall(ctx, "update", []string{key(id(i))}, updateArgs("n")...))
			}},
		{name: "update candidate: function, FCALL PEXPIRE HSET; value exists (keeps all; Redis 7)", top: []string{"fcall"},
			setup: withLibrary,
			op: func(ctx context.Context, i int) error {
				return wantOne(client.FCall(ctx, "update_one", []string{key(id(i))}, updateArgs("n")...))
			}},
		{name: "update candidate: store without MaxKeys, PEXPIRE HSET (costs: exact MaxKeys)", top: []string{"evalsha", "eval"},
			setup: populate,
			op: func(ctx context.Context, i int) error {
				_, err := plain.Update(ctx, id(i), setN, ttl, 0)
				return err
			}},
		{name: "update candidate: MULTI HSET PEXPIRE EXEC (costs: no resurrection)", top: []string{"multi", "exec"},
			setup: populate,
			op: func(ctx context.Context, i int) error {
				k := key(id(i))
				_, err := client.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.HSet(ctx, k, "n", "7")
					p.PExpire(ctx, k, ttl)
					return nil
				})
				return err
			}},
	}
}
