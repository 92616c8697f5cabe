package redisstore

// Lua scripts run atomically on the server: each of Create, Update and Move
// is one round trip that no other command can interleave with, which is what
// makes "never resurrect a deleted session" and "never exceed MaxKeys" hold
// under concurrency. Create and Update touch KEYS[1] only; Move touches two
// keys of one shard, which share a hash tag (see Store.key), so every script
// runs on one Cluster slot.
//
// Fields starting with '@' hold the store's metadata; every other field is
// a value. The only such field is '@created' (with Config.Index also
// '@expires' and '@access'), written by Create and never removed, so a
// session whose values are all gone still exists, and so HLEN is always one
// more than the number of values. The middleware's metadata (store.UserKey,
// store.LabelKey) are values whose fields start with '!@' (see
// encodeField), which a Clear keeps.
//
// Commands are sent in chunks of at most chunk arguments: unpack() of a long
// list would overflow the Lua stack (about 8000 slots in Redis).

// luaChunked defines chunked(cmd, key, args, first, last), which calls
// cmd key args[first..last] in chunks. An even chunk size keeps field and
// value pairs together.
const luaChunked = `
local chunk = 1000
local function chunked(cmd, key, args, first, last)
  for i = first, last, chunk do
    redis.call(cmd, key, unpack(args, i, math.min(i + chunk - 1, last)))
  end
end
`

// luaDelta defines the two halves of applying a Delta, whose arguments
// Update and Move share:
//
//	ARGV[1]  time to live, milliseconds (greater than zero)
//	ARGV[2]  MaxKeys (0: no limit)
//	ARGV[3]  '1' to clear all values first, else '0'
//	ARGV[4]  n, the number of fields to delete
//	ARGV[5 … 4+n]   fields to delete
//	ARGV[5+n …]     field, value pairs to set
//
// Clear removes the application's values and keeps the middleware's
// metadata (store.UserKey, store.LabelKey: keys starting with '@', stored in
// fields starting with '!@'), which counts toward MaxKeys like any value.
//
// withinLimit(key, n) reports whether the session at key, which exists and
// has n fields, holds no more than MaxKeys values after the change. The
// count after the change is bounded cheaply first; only a change that might
// cross the limit asks HEXISTS for each field it names, or, for a Clear,
// HKEYS for the metadata it keeps. clearValues(key) removes the
// application's values; apply(key) writes the change.
const luaDelta = luaChunked + `
local maxKeys = tonumber(ARGV[2])
local clear = ARGV[3] == '1'
local firstSet = 5 + tonumber(ARGV[4])
local nset = (#ARGV - firstSet + 1) / 2

local function isValue(f)
  local c = string.sub(f, 1, 1)
  return c ~= '@' and not (c == '!' and string.sub(f, 2, 2) == '@')
end

local function withinLimit(key, n)
  n = n - 1 -- '@created'
  if clear then
    if nset > maxKeys then
      return false
    end
    if nset + n <= maxKeys then
      return true
    end
    local named = {}
    for i = 5, firstSet - 1 do
      named[ARGV[i]] = true
    end
    for i = firstSet, #ARGV, 2 do
      named[ARGV[i]] = true
    end
    local kept = 0
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if string.sub(f, 1, 2) == '!@' and not named[f] then
        kept = kept + 1
      end
    end
    return nset + kept <= maxKeys
  end
  if n + nset <= maxKeys then
    return true
  end
  local removed = {}
  for i = 5, firstSet - 1 do
    local f = ARGV[i]
    if not removed[f] and redis.call('HEXISTS', key, f) == 1 then
      removed[f] = true
      n = n - 1
    end
  end
  for i = firstSet, #ARGV, 2 do
    local f = ARGV[i]
    if removed[f] or redis.call('HEXISTS', key, f) == 0 then
      n = n + 1
    end
  end
  return n <= maxKeys
end

local function clearValues(key)
  local values = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if isValue(f) then
      values[#values + 1] = f
    end
  end
  chunked('HDEL', key, values, 1, #values)
end

local function apply(key)
  if clear then
    clearValues(key)
  end
  chunked('HDEL', key, ARGV, 5, firstSet - 1)
  chunked('HSET', key, ARGV, firstSet, #ARGV)
end
`

// createSource creates a session unless its key exists.
//
//	KEYS[1]  session key
//	ARGV[1]  time to live, milliseconds
//	ARGV[2]  '@created'
//	ARGV[3]  creation time, unix milliseconds
//	ARGV[4…] field, value pairs
//
// Returns 1 when created, 0 when the key exists (nothing written).
const createSource = luaChunked + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
chunked('HSET', KEYS[1], ARGV, 2, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`

// updateSource applies a Delta (see luaDelta) to the existing session at
// KEYS[1] and sets its time to live.
//
// Returns 1 when applied, 0 when the session does not exist and -1 when the
// result would hold more than MaxKeys values; nothing is written in the last
// two cases.
//
// Without a limit, PEXPIRE is both the existence guard (it answers 0 for a
// missing key) and the new time to live, in one command. With a limit the
// count must be checked before anything is written, so HLEN is the guard and
// PEXPIRE comes last.
const updateSource = luaDelta + `
local key = KEYS[1]
if maxKeys == 0 then
  if redis.call('PEXPIRE', key, ARGV[1]) == 0 then
    return 0
  end
else
  local n = redis.call('HLEN', key)
  if n == 0 then
    return 0
  end
  if not withinLimit(key, n) then
    return -1
  end
end
apply(key)
if maxKeys > 0 then
  redis.call('PEXPIRE', key, ARGV[1])
end
return 1
`

// moveSource renames the session at KEYS[1] to KEYS[2], applies a Delta
// (see luaDelta) and sets its time to live. RENAME keeps the hash as it is,
// '@created' included.
//
// Returns 1 when moved, 0 when KEYS[1] does not exist, -1 when the result
// would hold more than MaxKeys values and -2 when KEYS[2] exists; nothing is
// written in the last three cases.
const moveSource = luaDelta + `
local n = redis.call('HLEN', KEYS[1])
if n == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -2
end
if maxKeys > 0 and not withinLimit(KEYS[1], n) then
  return -1
end
redis.call('RENAME', KEYS[1], KEYS[2])
apply(KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`
