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
# ARGV[5] photo key prefix, ARGV[6..] photo sha256s
STAGE = """
local previous = redis.call('SET', KEYS[2], ARGV[1], 'GET')
local missing = {}
for i = 6, #ARGV do
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
# after a 429), then keep the channel under its posting window (a sliding-window log). Takes a
# slot when it answers 0; otherwise answers how many seconds to wait.
# KEYS[1] not-before string, KEYS[2] sent zset
# ARGV[1] now, ARGV[2] window seconds (0: no window), ARGV[3] posts per window, ARGV[4] member id
RATE_GATE = """
local now = tonumber(ARGV[1])
local nb = tonumber(redis.call('GET', KEYS[1]) or '0')
if nb > now then
  return tostring(nb - now)
end
local window = tonumber(ARGV[2])
if window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return tostring(tonumber(oldest[2]) + window - now)
  end
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('EXPIRE', KEYS[2], math.ceil(window) + 1)
end
return '0'
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
