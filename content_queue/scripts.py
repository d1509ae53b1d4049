"""Lua scripts: each a check-and-set that must not interleave with another client's commands."""

from __future__ import annotations

# Take what is due and move it to in-flight under a lease, atomically, so that two schedulers
# can never both hand out the same delivery.
# KEYS[1] due zset, KEYS[2] inflight zset
# ARGV[1] now (epoch s), ARGV[2] lease expiry (epoch s), ARGV[3] max count
CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
end
return ids
"""

# Return expired leases to the due set (their worker died or stalled). Due "now" so they go
# out at once; the worker's SQL compare-and-set decides whether a reconcile is needed.
# KEYS[1] inflight zset, KEYS[2] due zset
# ARGV[1] now (epoch s), ARGV[2] max count
REAP_EXPIRED = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], 'NX', ARGV[1], id)
end
return ids
"""

# Forget a delivery that is done (published, failed, cancelled): drop it from both sets, delete
# its payload and release its photos, deleting a photo when no staged payload needs it.
# Photo keys are built here from ARGV (single-node Redis; a cluster would need hash tags).
# KEYS[1] due, KEYS[2] inflight, KEYS[3] payload key, KEYS[4] photo-refs hash
# ARGV[1] photo key prefix ("herald:photo:"), ARGV[2] delivery id, ARGV[3..] photo sha256s
RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
local existed = redis.call('DEL', KEYS[3])
if existed == 1 then
  for i = 3, #ARGV do
    local left = redis.call('HINCRBY', KEYS[4], ARGV[i], -1)
    if left <= 0 then
      redis.call('HDEL', KEYS[4], ARGV[i])
      redis.call('DEL', ARGV[1] .. ARGV[i])
    end
  end
end
return existed
"""

# Stage a payload (new or replacing an edited one) and put the delivery on the due set.
# Photo references are counted only when the payload is new, so staging the same delivery
# twice (rebuild, edit) does not leak references. Returns {queued, missing photo shas...}: the
# caller uploads the missing photos afterwards; our reference already protects them from a
# concurrent RELEASE deleting them.
# KEYS[1] due, KEYS[2] payload key, KEYS[3] photo-refs hash, KEYS[4] inflight
# ARGV[1] payload JSON, ARGV[2] due (epoch s), ARGV[3] delivery id,
# ARGV[4] "1" to leave the due set alone when the delivery is in flight,
# ARGV[5] photo key prefix, ARGV[6] the wake channel ('' for none: published only when the
# delivery went on the due set with no photo missing, else the caller wakes after uploading),
# ARGV[7..] photo sha256s
STAGE = """
local previous = redis.call('SET', KEYS[2], ARGV[1], 'GET')
local missing = {}
for i = 7, #ARGV do
  if not previous then
    redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
  end
  if redis.call('EXISTS', ARGV[5] .. ARGV[i]) == 0 then
    table.insert(missing, ARGV[i])
  end
end
local queued = 1
if ARGV[4] == '1' and redis.call('ZSCORE', KEYS[4], ARGV[3]) then
  queued = 0
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
end
if queued == 1 and #missing == 0 and ARGV[6] ~= '' then
  redis.call('PUBLISH', ARGV[6], '1')
  queued = 2
end
table.insert(missing, 1, queued)
return missing
"""

# Put a claimed delivery back for a retry at a later time.
# KEYS[1] inflight, KEYS[2] due; ARGV[1] delivery id, ARGV[2] due (epoch s)
REQUEUE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# Extend a lease, but only while the delivery is still in flight (never resurrect it).
# KEYS[1] inflight; ARGV[1] delivery id, ARGV[2] new expiry (epoch s)
EXTEND = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
  return 1
end
return 0
"""

# The per-channel rate gate, shared by every worker: wait for a platform's "not before" (set
# after a 429; the answer is then that instant), then keep the channel under its posting
# window and, when its credential shares a limit with other channels (a Telegram bot, an X
# app), under that one too (sliding-window logs of the instants posts go out).
# A post that fits goes at ARGV[1] (answer 0). One that does not is given the first instant
# it fits, and that slot is reserved for it (logged in the future under its member), so that
# posts told to wait come back one after the other, in the order they asked, and none that
# asks later can take a slot ahead of them; the answer is its slot (epoch seconds, to the
# microsecond, as SQL keeps a due time: slots that are equal stay equal). A member
# that comes back finds its reservation and waits for it, or goes if its time has come.
# Reserved slots are rounded up to a multiple of ARGV[7] seconds: posts whose slots are a few
# ms apart would come back in separate hand-overs and race each other to the platform; rounded,
# they share an instant and a hand-over, which sends one channel's posts one by one, in order.
# KEYS[1] not-before string, KEYS[2] sent zset, KEYS[3] shared sent zset (any key when unused)
# ARGV[1] when the post would go (epoch s), ARGV[2] window seconds (0: no window), ARGV[3] posts
# per window, ARGV[4] member, ARGV[5] shared window seconds (0: none), ARGV[6] posts per it,
# ARGV[7] the grid reserved slots are rounded up to (seconds; 0: none)
RATE_GATE = """
local at = tonumber(ARGV[1])
local nb = tonumber(redis.call('GET', KEYS[1]) or '0')
if nb > at then
  return string.format('%.6f', nb)
end
local windows = {
  {KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3])},
  {KEYS[3], tonumber(ARGV[5] or '0'), tonumber(ARGV[6] or '0')},
}
local slot = at
for _, w in ipairs(windows) do
  if w[2] > 0 then
    redis.call('ZREMRANGEBYSCORE', w[1], '-inf', at - w[2])
    local mine = redis.call('ZSCORE', w[1], ARGV[4])
    if mine then
      slot = math.max(slot, tonumber(mine))
    else
      local n = redis.call('ZCARD', w[1])
      if n >= w[3] then
        local fits = redis.call('ZRANGE', w[1], n - w[3], n - w[3], 'WITHSCORES')
        slot = math.max(slot, tonumber(fits[2]) + w[2])
      end
    end
  end
end
local grid = tonumber(ARGV[7] or '0')
if slot > at and grid > 0 then
  slot = math.ceil(slot / grid) * grid
end
for _, w in ipairs(windows) do
  if w[2] > 0 then
    if not redis.call('ZSCORE', w[1], ARGV[4]) then
      redis.call('ZADD', w[1], slot, ARGV[4])
    end
    redis.call('EXPIRE', w[1], math.ceil(slot - at + w[2]) + 1)
  end
end
-- A reservation comes back due at its slot, read back from SQL a hair off: that is its time.
if slot - at < 0.001 then
  return '0'
end
return string.format('%.6f', slot)
"""

# Raise a channel's "not before" time, never lower it (two workers may report 429s at once).
# KEYS[1] not-before string; ARGV[1] epoch seconds
HOLD_CHANNEL = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', math.ceil(tonumber(ARGV[1]) - cur) + 60)
end
return 1
"""
