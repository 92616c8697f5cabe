package redisstore

import "github.com/redis/go-redis/v9"

// The scripts of the indexed mode (Config.Index). Each keeps a session and
// its shard's index in step, in one atomic round trip: the index keys of a
// shard share the shard's hash tag (see Store.shardKey), so a script that
// changes a session and its index entries runs on one Cluster slot.
//
// A session's hash holds, besides its values, the metadata fields
//
//	@created  when it was first stored, unix milliseconds (a Move keeps it)
//	@expires  its logical expiry, unix milliseconds
//	@access   when its time to live was last set, unix milliseconds
//
// and its key lives Retention past @expires (PEXPIRE ttl + retention). A
// session whose @expires is not after now is gone for every call, though its
// data stays for ClaimExpired. now is the caller's clock (Config.Now), passed
// in: the servers of a farm compare expiries with their own clocks. A session
// without @expires was stored with the index switched off: it is live while
// its key exists, and joins the index at its next write or touch.
//
// Per shard, beside the sessions:
//
//	@expiries  sorted set: session ID -> @expires
//	@claims    sorted set: session ID -> lease deadline of its claim
//	@ids       sorted set, every score 0: session IDs in byte order
//	@users     hash: session ID -> its '@user', for the sessions with one,
//	           so that the user's set can lose a session whose data expired
//	           before any reaper claimed it
//
// A session is in @ids from the moment it is stored until it is deleted or
// reaped, in @expiries until then too, except while claimed, when it has
// moved to @claims.

// indexScripts are the scripts of the indexed mode.
type indexScripts struct {
	create, update, apply, move, touch, end *redis.Script
	claim, reap, list                       *redis.Script
	reserve, reconcile                      *redis.Script
}

func newIndexScripts() indexScripts {
	return indexScripts{
		create:    redis.NewScript(createIndexedSource),
		update:    redis.NewScript(updateIndexedSource),
		apply:     redis.NewScript(applyIndexedSource),
		move:      redis.NewScript(moveIndexedSource),
		touch:     redis.NewScript(touchIndexedSource),
		end:       redis.NewScript(endSource),
		claim:     redis.NewScript(claimSource),
		reap:      redis.NewScript(reapSource),
		list:      redis.NewScript(listSource),
		reserve:   redis.NewScript(reserveSource),
		reconcile: redis.NewScript(reconcileSource),
	}
}

// luaLive defines, for a script that has set the locals now (a string),
// nowMs (now as a number), expires and pttl (strings: the new @expires, and
// the key's new time to live in milliseconds, ttl + retention):
//
// live(key) returns HMGET key @created @expires @access !@user when the
// session at key is live, or nil when it is missing or expired. @created is
// in every session, so it tells a missing one from one without @expires.
//
// stamp(key, expiries, idsKey, id, indexed, written) sets the session's
// expiry and last access (unless written: applyStamped wrote them), its
// key's time to live and its entry in @expiries; indexed is false (the
// @expires that live returned) for a session not yet in @ids.
//
// Times reach Redis as the strings the caller sent: Redis 7 turns a Lua
// number into a command argument with a costly printf, and each redis.call
// costs about a microsecond of Redis's time besides, more than a small HSET
// itself. The scripts below count their calls accordingly.
const luaLive = `
local function live(key)
  local m = redis.call('HMGET', key, '@created', '@expires', '@access', '!@user')
  if not m[1] or (m[2] and tonumber(m[2]) <= nowMs) then
    return nil
  end
  return m
end

-- joined notes the user of a session m that joins the index now (it has
-- no @expires: stored while the index was off) in @users, and returns it
-- for the caller to add to the user's set; '' otherwise.
local function joined(users, id, m)
  if m[2] or not m[4] then
    return ''
  end
  redis.call('HSET', users, id, m[4])
  return m[4]
end

local function stamp(key, expiries, idsKey, id, indexed, written)
  if not written then
    redis.call('HSET', key, '@expires', expires, '@access', now)
  end
  redis.call('PEXPIRE', key, pttl)
  redis.call('ZADD', expiries, expires, id)
  if not indexed then
    redis.call('ZADD', idsKey, 0, id)
  end
end
`

// luaDeltaArgs takes the arguments that the indexed scripts applying a Delta
// have after luaDelta's (see deltaArgs): the IDs (n of them), n, now,
// expires and pttl (see luaLive). It removes them from the end of ARGV, so
// it must run before luaDelta reads ARGV: the indexed scripts share
// luaDelta, and the scripts of the plain mode stay as they are.
const luaDeltaArgs = `
local pttl = table.remove(ARGV)
local expires = table.remove(ARGV)
local now = table.remove(ARGV)
local nowMs = tonumber(now)
local argIDs = {}
for i = tonumber(table.remove(ARGV)), 1, -1 do
  argIDs[i] = table.remove(ARGV)
end
`

// luaStampedDelta defines, after luaDelta and luaLive:
//
// metadata(m) returns the number of metadata fields of the live session
// that live returned m for, which withinLimit must not count as values.
//
// applyStamped(key) is luaDelta's apply that also writes @expires and
// @access, in the HSET of the first values of the change: one redis.call
// fewer than apply and stamp's own HSET.
//
// written(m) moves the entry in the shard's @users (KEYS[4]) of the session
// that live returned m for, which the change has been applied to, to the
// user it has now, and returns the reply of updateIndexedSource for it.
const luaStampedDelta = `
local function metadata(m)
  local n = 1
  if m[2] then n = n + 1 end
  if m[3] then n = n + 1 end
  return n
end

-- userAfter returns the '@user' a session whose user is user has after the
-- change: the one it sets, none if it deletes it, else user (Clear keeps
-- metadata).
local function userAfter(user)
  for i = 5, firstSet - 1 do
    if ARGV[i] == '!@user' then
      user = ''
    end
  end
  for i = firstSet, #ARGV, 2 do
    if ARGV[i] == '!@user' then
      user = ARGV[i + 1]
    end
  end
  return user
end

local function applyStamped(key)
  if clear then
    clearValues(key)
  end
  chunked('HDEL', key, ARGV, 5, firstSet - 1)
  local last = math.min(firstSet + chunk - 1, #ARGV)
  redis.call('HSET', key, '@expires', expires, '@access', now, unpack(ARGV, firstSet, last))
  chunked('HSET', key, ARGV, last + 1, #ARGV)
end

local function written(m)
  local before = m[4] or ''
  local user = userAfter(before)
  if user == before then
    return {1, before, joined(KEYS[4], argIDs[1], m)}
  end
  if user == '' then
    redis.call('HDEL', KEYS[4], argIDs[1])
  else
    redis.call('HSET', KEYS[4], argIDs[1], user)
  end
  return {1, before, ''}
end
`

// createIndexedSource creates a session unless its key exists, and indexes
// it.
//
//	KEYS[1]  session key
//	KEYS[2]  @expiries of its shard
//	KEYS[3]  @ids of its shard
//	KEYS[4]  @users of its shard
//	ARGV[1]  the key's time to live, milliseconds: ttl + retention, or 0
//	         when the ttl is zero or less
//	ARGV[2]  @expires, unix milliseconds
//	ARGV[3]  session ID
//	ARGV[4…] field, value pairs, '@created', '@expires' and '@access'
//	         included
//
// Returns 1 when created (or when ARGV[1] is 0 and the key does not exist:
// nothing is stored), 0 when the key exists (nothing written), even if the
// session there expired: its ID is taken until it is reaped.
const createIndexedSource = luaChunked + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[1] == '0' then
  return 1
end
chunked('HSET', KEYS[1], ARGV, 4, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
for i = 4, #ARGV, 2 do
  if ARGV[i] == '!@user' then
    redis.call('HSET', KEYS[4], ARGV[3], ARGV[i + 1])
  end
end
return 1
`

// touchIndexedSource sets the time to live of a live session: Touch, and
// Load with a ttl, which reads the hash with HGETALL in the same pipeline.
//
//	KEYS[1]  session key
//	KEYS[2]  @expiries of its shard
//	KEYS[3]  @ids of its shard
//	KEYS[4]  @users of its shard
//	ARGV[1]  session ID
//	ARGV[2]  now, unix milliseconds
//	ARGV[3]  the new @expires, unix milliseconds
//	ARGV[4]  the key's new time to live, milliseconds: ttl + retention
//
// Returns {1, user} when set, user being the '@user' of a session that
// joined the index now (stored while it was off), whose user's set must get
// it too, or ” ; {0} when the session is missing or expired (nothing
// written).
const touchIndexedSource = `
local now, expires, pttl = ARGV[2], ARGV[3], ARGV[4]
local nowMs = tonumber(now)
` + luaLive + `
local m = live(KEYS[1])
if not m then
  return {0}
end
stamp(KEYS[1], KEYS[2], KEYS[3], ARGV[1], m[2], false)
return {1, joined(KEYS[4], ARGV[1], m)}
`

// updateIndexedSource applies a Delta (see luaDelta) to a live session and
// sets its time to live.
//
//	KEYS[1]  session key
//	KEYS[2]  @expiries of its shard
//	KEYS[3]  @ids of its shard
//	KEYS[4]  @users of its shard
//	ARGV     luaDelta's, then the session ID, 1, now, expires and pttl
//	         (see luaDeltaArgs)
//
// Returns {1, user, joined} when applied, user being the '@user' value the
// session had before (empty for none) and joined that of a session that
// joined the index now (see touchIndexedSource); {0} when the session is
// missing or expired and {-1} when the result would hold more than MaxKeys
// values: nothing is written in the last two cases.
const updateIndexedSource = luaDeltaArgs + luaDelta + luaLive + luaStampedDelta + `
local key = KEYS[1]
local m = live(key)
if not m then
  return {0}
end
if maxKeys > 0 and not withinLimit(key, redis.call('HLEN', key) - metadata(m) + 1) then
  return {-1}
end
applyStamped(key)
stamp(key, KEYS[2], KEYS[3], argIDs[1], m[2], true)
return written(m)
`

// applyIndexedSource is updateIndexedSource for a Delta that adds or takes
// (see applySource): the guard's HMGET also reads the values the Delta adds
// to and takes, and the sums join the HSET of the change.
//
//	KEYS     those of updateIndexedSource
//	ARGV     luaDelta's, then luaAddTakeArgs', then the session ID, 1,
//	         now, expires and pttl (see luaDeltaArgs)
//
// Returns {1, user, joined, sums…, taken…} when applied (see
// updateIndexedSource and take); {0}, {-1} and {-2, i} as applySource does,
// and {0} for an expired session too: nothing is written in those cases.
const applyIndexedSource = luaDeltaArgs + luaAddTakeArgs + luaDelta + luaLive + luaStampedDelta + luaAddTake + `
local key = KEYS[1]
local m, cur = read(key, {'@created', '@expires', '@access', '!@user'})
if not m[1] or (m[2] and tonumber(m[2]) <= nowMs) then -- as live tells
  return {0}
end
local sums, created, bad = addAll(cur)
if bad then
  return {-2, bad}
end
if maxKeys > 0 then
  maxKeys = maxKeys - created
  if not withinLimit(key, redis.call('HLEN', key) - metadata(m) + 1) then
    return {-1}
  end
end
writeSums(sums)
applyStamped(key)
local out = written(m)
take(key, cur, sums, out)
stamp(key, KEYS[2], KEYS[3], argIDs[1], m[2], true)
return out
`

// moveIndexedSource renames a live session from KEYS[1] to KEYS[2], applies
// a Delta (see luaDelta), sets its time to live and moves its index entries
// to the new ID. RENAME keeps '@created'.
//
//	KEYS[1]  old session key
//	KEYS[2]  new session key, in the same shard
//	KEYS[3]  @expiries of the shard
//	KEYS[4]  @ids of the shard
//	KEYS[5]  @users of the shard
//	ARGV     luaDelta's, then the old ID, the new ID and the user whose
//	         set holds the new ID (empty for none), 3, now, expires and pttl
//	         (see luaDeltaArgs)
//
// Returns {1, user} when moved, user being the '@user' value of the old
// session (empty for none); {0} when KEYS[1] is missing or expired, {-1} when
// the result would hold more than MaxKeys values, {-2} when KEYS[2] exists,
// and {-3, user} when the moved session would belong to user, whose set
// does not hold the new ID yet: nothing is written in the last four cases.
// The user of the moved session is the one d sets, none if d deletes it, or
// else the old session's (a Clear keeps it), which the caller may not know
// before it asks.
const moveIndexedSource = luaDeltaArgs + luaDelta + luaLive + luaStampedDelta + `
local m = live(KEYS[1])
if not m then
  return {0}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {-2}
end
local user = userAfter(m[4] or '')
if user ~= '' and user ~= argIDs[3] then
  return {-3, user}
end
if maxKeys > 0 and not withinLimit(KEYS[1], redis.call('HLEN', KEYS[1]) - metadata(m) + 1) then
  return {-1}
end
redis.call('RENAME', KEYS[1], KEYS[2])
applyStamped(KEYS[2])
redis.call('ZREM', KEYS[3], argIDs[1])
redis.call('ZREM', KEYS[4], argIDs[1])
stamp(KEYS[2], KEYS[3], KEYS[4], argIDs[2], false, true)
if m[4] then
  redis.call('HDEL', KEYS[5], argIDs[1])
end
if user ~= '' then
  redis.call('HSET', KEYS[5], argIDs[2], user)
end
return {1, m[4] or ''}
`

// endSource deletes a live session and its index entries: Delete, Remove,
// and Update, Touch and Move with a ttl of zero or less. A session that
// expired is left to its claimer (see claimSource).
//
//	KEYS[1]  session key
//	KEYS[2]  @expiries of its shard
//	KEYS[3]  @ids of its shard
//	KEYS[4]  @users of its shard
//	ARGV[1]  session ID
//	ARGV[2]  now, unix milliseconds
//
// Returns HMGET @created @expires @access !@user !@label of the session it
// deleted, or an empty array when the session was missing or expired.
const endSource = `
local m = redis.call('HMGET', KEYS[1], '@created', '@expires', '@access', '!@user', '!@label')
if not m[1] or (m[2] and tonumber(m[2]) <= tonumber(ARGV[2])) then
  return {}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if m[4] then
  redis.call('HDEL', KEYS[4], ARGV[1])
end
return m
`

// claimSource claims up to limit expired sessions of one shard: first those
// whose claim's lease ran out, then those due in @expiries, which move to
// @claims.
//
//	KEYS[1]  @expiries of the shard
//	KEYS[2]  @claims of the shard
//	KEYS[3]  @ids of the shard
//	KEYS[4]  @users of the shard
//	ARGV[1]  now, unix milliseconds
//	ARGV[2]  lease deadline of the new claims, unix milliseconds
//	ARGV[3]  limit (greater than zero)
//	ARGV[4]  key prefix of the shard's sessions: "…{<Application>:<c>}:"
//
// Returns one array per session: {id, HGETALL of its key}, or {id, user}
// for a session whose key is gone (it expired longer ago than the
// retention), which is forgotten: user is its '@user' from @users, ” for
// none. A claimed session's '@expires' becomes 0, so that no
// call brings it back, not even one whose clock read a moment earlier than
// the claimer's; '@claimed' keeps its expiry.
const claimSource = luaChunked + `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
if #ids < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit - #ids)
  if #due > 0 then
    chunked('ZREM', KEYS[1], due, 1, #due)
    for _, id in ipairs(due) do
      ids[#ids + 1] = id
    end
  end
end
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  local h = redis.call('HGETALL', key)
  if #h == 0 then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    local user = redis.call('HGET', KEYS[4], id) or ''
    redis.call('HDEL', KEYS[4], id)
    out[#out + 1] = {id, user}
  else
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    local expires = redis.call('HGET', key, '@claimed')
    if not expires then
      -- Claimed for good: '@expires' 0 makes the session gone for every
      -- call, whatever its clock, and '@claimed' keeps when it expired.
      expires = redis.call('HGET', key, '@expires')
      redis.call('HSET', key, '@claimed', expires, '@expires', '0')
    end
    out[#out + 1] = {id, h}
  end
end
return out
`

// reapSource deletes sessions of one shard that are not live, with their
// index entries. A live session is left alone, so that a late Reap never
// deletes what a user still holds.
//
//	KEYS[1]  @expiries of the shard
//	KEYS[2]  @claims of the shard
//	KEYS[3]  @ids of the shard
//	KEYS[4]  @users of the shard
//	ARGV[1]  now, unix milliseconds
//	ARGV[2]  key prefix of the shard's sessions
//	ARGV[3…] session IDs
//
// Returns id, user pairs of the sessions it reaped or found gone, user being
// their '@user' value, from @users when the key is gone (empty for none).
const reapSource = `
local now = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = ARGV[2] .. id
  local m = redis.call('HMGET', key, '@created', '@expires', '!@user')
  if not (m[1] and (not m[2] or tonumber(m[2]) > now)) then
    if m[1] then
      redis.call('DEL', key)
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    local user = m[3]
    if m[1] then
      user = user or ''
    else
      -- The key is gone: @users still knows the session's user.
      user = redis.call('HGET', KEYS[4], id) or ''
    end
    if user ~= '' then
      redis.call('HDEL', KEYS[4], id)
    end
    out[#out + 1] = id
    out[#out + 1] = user
  end
end
return out
`

// listSource lists live sessions of one shard in byte order of their IDs,
// from @ids.
//
//	KEYS[1]  @ids of the shard
//	ARGV[1]  now, unix milliseconds
//	ARGV[2]  the ID to list after (empty to start at the first)
//	ARGV[3]  limit: how many live sessions to return at most
//	ARGV[4]  key prefix of the shard's sessions
//	ARGV[5]  how many IDs to look at at most
//
// Returns {last, done, {id, @created, @expires, @access, @user, @label}…}:
// last is the last ID looked at (ARGV[2] if none), done is 1 when no ID
// after last remains.
const listSource = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local scan = tonumber(ARGV[5])
local start = '-'
if ARGV[2] ~= '' then
  start = '(' .. ARGV[2]
end
local ids = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, scan)
local out = {}
local last = ARGV[2]
local looked = 0
for _, id in ipairs(ids) do
  if #out == limit then
    break
  end
  looked = looked + 1
  last = id
  local m = redis.call('HMGET', ARGV[4] .. id, '@created', '@expires', '@access', '!@user', '!@label')
  if m[1] and m[2] and tonumber(m[2]) > now then
    out[#out + 1] = {id, m[1], m[2], m[3], m[4], m[5]}
  end
end
local done = 0
if looked == #ids and #ids < scan then
  done = 1
end
return {last, done, out}
`

// reserveSource counts a session ID in the application's @live set unless
// the set holds max or more.
//
//	KEYS[1]  @live of the application
//	ARGV[1]  session ID
//	ARGV[2]  max (0: no limit)
//	ARGV[3]  when to check whether the session was stored, unix milliseconds
//
// Returns 1 when counted (or counted already), 0 when refused.
const reserveSource = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 1
end
local max = tonumber(ARGV[2])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`

// reconcileSource changes members of a sorted set that a caller read
// earlier, unless they changed since: a member whose score is still the one
// read is removed, or given a new score.
//
//	KEYS[1]  the sorted set (@live, or a user's sessions)
//	ARGV     member, score read, new score (empty to remove) triples
//
// Returns the number of members changed. An empty set is deleted by Redis.
const reconcileSource = `
local n = 0
for i = 1, #ARGV, 3 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    if ARGV[i + 2] == '' then
      redis.call('ZREM', KEYS[1], ARGV[i])
    else
      redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
    end
    n = n + 1
  end
end
return n
`
