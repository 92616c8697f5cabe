package redisstore

// Lua scripts run atomically on the server: each of Create, Update, Apply
// and Move is one round trip that no other command can interleave with,
// which is what makes "never resurrect a deleted session", "never exceed
// MaxKeys" and "no Add lost, no Take given twice" hold under concurrency.
// Create, Update and Apply touch KEYS[1] only; Move touches two keys of one
// shard, which share a hash tag (see Store.key), so every script runs on one
// Cluster slot.
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
//
// The middleware's usual write, a few values set under a limit, runs
// luaSetFast, before luaDelta: the same HLEN, HSET and PEXPIRE, without the
// cost of defining luaDelta's functions at every call (about 1.4 of the 12
// microseconds of Redis CPU an update costs; bench/rediscpu).
const updateSource = luaSetFast + luaDelta + `
local key = KEYS[1]
if maxKeys == 0 then
  if redis.call('PEXPIRE', key, ARGV[1]) == 0 then
    return 0
  end
else
  local n = fastN or redis.call('HLEN', key)
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

// luaSetFast applies, before luaDelta, a Delta that only sets at most a
// chunk of values, under a limit (see luaDelta for ARGV), when the values it
// sets cannot take the session past the limit even if all are new: HLEN
// (the guard), HSET, PEXPIRE, and returns. Otherwise it leaves fastN, the
// HLEN it ran (nil when it ran none), for the general path to count with.
const luaSetFast = `
local fastN
if ARGV[2] ~= '0' and ARGV[3] == '0' and ARGV[4] == '0' and #ARGV <= 1004 then
  fastN = redis.call('HLEN', KEYS[1])
  if fastN == 0 then
    return 0
  end
  if fastN - 1 + (#ARGV - 4) / 2 <= tonumber(ARGV[2]) then
    if #ARGV > 4 then
      redis.call('HSET', KEYS[1], unpack(ARGV, 5))
    end
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    return 1
  end
end
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

// luaAddTakeArgs takes the arguments of Delta.Add and Delta.Take, which the
// apply scripts have after luaDelta's (see addTakeArgs):
//
//	field, n pairs to add n to (n in decimal)
//	fields to take
//	the number of pairs, then the number of fields to take
//
// It removes them from the end of ARGV, as luaDeltaArgs does, so it must
// run before luaDelta reads ARGV; the indexed script runs luaDeltaArgs
// first, whose arguments come after these.
const luaAddTakeArgs = `
local ntake = tonumber(table.remove(ARGV))
local nadd = tonumber(table.remove(ARGV))
local takeFields, addFields, addNs = {}, {}, {}
for i = ntake, 1, -1 do
  takeFields[i] = table.remove(ARGV)
end
for i = nadd, 1, -1 do
  addNs[i] = table.remove(ARGV)
  addFields[i] = table.remove(ARGV)
end
`

// luaAddTake defines, after luaDelta and luaAddTakeArgs, what the apply
// scripts add to applying a Delta. An Add must write nothing when any of its
// values is not an integer or any sum overflows, and an error raised by a
// redis.call would stop the script without undoing what it wrote before. So
// the scripts read every value they add to or take first, compute each sum
// in the script (HINCRBY is not used: miniredis's accepts values Redis
// refuses, and its sums overflow silently), and write only when all of them
// are good:
//
// read(key, head) runs HMGET key head… and the fields Add and Take name, in
// chunks, and returns the values of head, and a table of those of the named
// fields (false for a missing one). head tells whether the session exists.
//
// before(cur, f) returns the value field f holds once Clear, Del and Set are
// applied (false for none), cur being the table read returned.
//
// addAll(cur) returns the sums of the Add in its order, as decimal strings,
// and how many of its fields it creates; or nil, 0 and the position of the
// first field whose value is not an integer or whose sum overflows an int64.
//
// writeSums(sums) appends the sums to the field, value pairs of the Set at
// the end of ARGV, so that apply (and applyStamped) writes them in the HSET
// of the change; an Add comes after Set, and HSET writes its pairs in order.
// Call it after withinLimit, which counts the Set's pairs.
//
// take(key, cur, sums, out) removes, with one HDEL, the fields of the Take
// that hold a value after the Add, and appends to out the sums, then that
// value for each field of the Take (false for a missing one).
//
// Integers are those of store.ParseInt: decimal, canonical ("-12", "0"; no
// '+', no leading zero, no "-0"), within int64. Lua's numbers are doubles,
// exact only to 2^53: small integers are added as they are, and larger
// ones as two numbers hi and lo, the value being hi * e9 + lo, both exact,
// and so is their sum.
const luaAddTake = `
local e9 = 1000000000
local setValues, delFields = {}, {}
for i = 5, firstSet - 1 do
  delFields[ARGV[i]] = true
end
for i = firstSet, #ARGV, 2 do
  setValues[ARGV[i]] = ARGV[i + 1]
end

local function read(key, head)
  local fields = {}
  for _, list in ipairs({head, addFields, takeFields}) do
    for _, f in ipairs(list) do
      fields[#fields + 1] = f
    end
  end
  local m, cur = {}, {}
  for i = 1, #fields, chunk do
    local last = math.min(i + chunk - 1, #fields)
    local got = redis.call('HMGET', key, unpack(fields, i, last))
    for j = i, last do
      if j <= #head then
        m[j] = got[j - i + 1]
      else
        cur[fields[j]] = got[j - i + 1]
      end
    end
  end
  return m, cur
end

local function before(cur, f)
  if setValues[f] then
    return setValues[f]
  end
  if delFields[f] or (clear and isValue(f)) then
    return false
  end
  return cur[f]
end

-- integer reports whether s is an integer.
local function integer(s)
  if s == '0' then
    return true
  end
  if not string.find(s, '^%-?[1-9][0-9]*$') then
    return false
  end
  if #s < 19 then
    return true
  end
  if string.sub(s, 1, 1) == '-' then
    return #s < 20 or (#s == 20 and string.sub(s, 2) <= '9223372036854775808')
  end
  return #s == 19 and s <= '9223372036854775807'
end

-- halves returns the integer s as hi, lo, both with the sign of s.
local function halves(s)
  local neg = string.sub(s, 1, 1) == '-'
  if neg then
    s = string.sub(s, 2)
  end
  local hi, lo = tonumber(string.sub(s, 1, -10)) or 0, tonumber(string.sub(s, -9))
  if neg then
    return -hi, -lo
  end
  return hi, lo
end

-- addInt returns value (false counts as 0) plus n in decimal, or nil.
local function addInt(value, n)
  value = value or '0'
  if not integer(value) then
    return nil
  end
  if #value < 16 and #n < 16 then
    -- Both below 10^15 in size: the sum is below 2^53, which a double
    -- holds exactly.
    return string.format('%d', tonumber(value) + tonumber(n))
  end
  local hi, lo = halves(value)
  local nhi, nlo = halves(n)
  hi, lo = hi + nhi, lo + nlo
  local carry = math.floor(lo / e9)
  hi, lo = hi + carry, lo - carry * e9 -- 0 <= lo < e9
  -- int64 bounds: 9223372036 * e9 + 854775807 and -9223372037 * e9 + 145224192
  if hi > 9223372036 or (hi == 9223372036 and lo > 854775807) or
     hi < -9223372037 or (hi == -9223372037 and lo < 145224192) then
    return nil
  end
  local sign = ''
  if hi < 0 then
    sign = '-'
    if lo > 0 then
      hi, lo = -hi - 1, e9 - lo
    else
      hi = -hi
    end
  end
  if hi == 0 then
    return sign .. string.format('%d', lo)
  end
  return sign .. string.format('%d%09d', hi, lo)
end

local function addAll(cur)
  local sums, created = {}, 0
  for i, f in ipairs(addFields) do
    local value = before(cur, f)
    if not value then
      created = created + 1
    end
    sums[i] = addInt(value, addNs[i])
    if not sums[i] then
      return nil, 0, i
    end
  end
  return sums, created
end

local function writeSums(sums)
  for i, f in ipairs(addFields) do
    ARGV[#ARGV + 1] = f
    ARGV[#ARGV + 1] = sums[i]
  end
end

local function take(key, cur, sums, out)
  local added, taken, fields = {}, {}, {}
  for i, f in ipairs(addFields) do
    added[f] = sums[i]
    out[#out + 1] = sums[i]
  end
  for _, f in ipairs(takeFields) do
    local value = false
    if not taken[f] then
      value = added[f] or before(cur, f)
    end
    if value then
      taken[f] = true
      fields[#fields + 1] = f
    end
    out[#out + 1] = value
  end
  chunked('HDEL', key, fields, 1, #fields)
end
`

// luaAddTakeFast applies, before the rest of applySource, a Delta that
// only adds to one value or only takes one (see applySource for ARGV and the
// answers): the middleware's usual Session.Add and Take. It runs the same
// commands and gives the same answers as the general path (HMGET of
// '@created' and the value, HLEN under a limit, HSET of the sum or HDEL of
// the value taken, PEXPIRE), and checks and adds integers as luaAddTake
// does, without first defining what a general Delta needs: about a third
// less Redis CPU for an Add (bench/rediscpu). It returns, or falls through
// when the Delta is not one of these two.
const luaAddTakeFast = `
-- One Add: ttl, max, '0', '0', field, n, '1', '0'.
-- One Take: ttl, max, '0', '0', field, '0', '1'.
local adding = #ARGV == 8 and ARGV[7] == '1' and ARGV[8] == '0'
if (adding or (#ARGV == 7 and ARGV[6] == '0' and ARGV[7] == '1')) and
   ARGV[3] == '0' and ARGV[4] == '0' then
  local key, f = KEYS[1], ARGV[5]
  local got = redis.call('HMGET', key, '@created', f)
  if not got[1] then
    return {0}
  end
  local v = got[2]
  local sum
  if adding then
    local n = ARGV[6]
    v = v or '0'
    local ok = v == '0' or string.find(v, '^%-?[1-9][0-9]*$')
    if ok and #v < 16 and #n < 16 then
      sum = string.format('%d', tonumber(v) + tonumber(n))
    elseif ok then
      -- Beyond 2^53, exactly as luaAddTake's addInt: defer to it.
      sum = false
    else
      return {-2, 1}
    end
  end
  if sum ~= false then
    if ARGV[2] ~= '0' then
      local created = 0
      if adding and not got[2] then
        created = 1
      end
      if redis.call('HLEN', key) - 1 + created > tonumber(ARGV[2]) then
        return {-1}
      end
    end
    if adding then
      redis.call('HSET', key, f, sum)
    elseif v then
      redis.call('HDEL', key, f)
    end
    redis.call('PEXPIRE', key, ARGV[1])
    if adding then
      return {1, sum}
    end
    return {1, v}
  end
end
`

// applySource applies a Delta that adds or takes (see luaDelta,
// luaAddTakeArgs and luaAddTake) to the existing session at KEYS[1] and
// sets its time to live. A Delta that does neither runs updateSource, whose
// PEXPIRE guard costs one command less: here the guard must write nothing,
// since the Add may still fail after it.
//
// Returns {1, sums…, taken…} when applied (see take); {0} when the session
// does not exist, {-1} when the result would hold more than MaxKeys values,
// and {-2, i} when the i-th field of the Add does not hold an integer or its
// sum overflows: nothing is written in the last three cases. The guard is
// '@created', which every session has (see above) and HMGET reads with the
// values.
//
// withinLimit counts the keys that Clear, Del and Set leave; those the Add
// creates count too, so they are taken off the limit it compares with.
const applySource = luaAddTakeFast + luaAddTakeArgs + luaDelta + luaAddTake + `
local key = KEYS[1]
local m, cur = read(key, {'@created'})
if not m[1] then
  return {0}
end
local sums, created, bad = addAll(cur)
if bad then
  return {-2, bad}
end
if maxKeys > 0 then
  maxKeys = maxKeys - created
  if not withinLimit(key, redis.call('HLEN', key)) then
    return {-1}
  end
end
writeSums(sums)
apply(key)
local out = {1}
take(key, cur, sums, out)
redis.call('PEXPIRE', key, ARGV[1])
return out
`
