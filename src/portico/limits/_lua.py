"""Lua for the Redis backend; it mirrors `memory.py` rule for rule (codes from `_plan.kind_code`).

Every entry passes 2 KEYS (state key, previous sliding window or the same key again) and 6 ARGV
(code, capacity, window, amount, mark, extra). Floats go back as strings: Redis truncates Lua
numbers to integers.
"""

from __future__ import annotations

_COMMON = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local n = tonumber(ARGV[3])
local function arg(i, j) return ARGV[3 + (i - 1) * 6 + j] end
local function bucket(key, cap, window)
  local v = redis.call('HMGET', key, 'l', 't')
  local level, ts = tonumber(v[1]), tonumber(v[2])
  if level == nil then return cap, now end
  if now > ts then
    level = math.min(cap, level + (now - ts) * cap / window)
    ts = now
  end
  return level, ts
end
local function put_bucket(key, level, ts, cap, window)
  redis.call('HSET', key, 'l', string.format('%.17g', level), 't', string.format('%.17g', ts))
  local refill = 0
  if cap > 0 then refill = (cap - level) * window / cap end
  redis.call('PEXPIRE', key, math.ceil((refill + window + 60) * 1000))
end
local function held(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local total = 0
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    total = total + tonumber(string.match(m, ':(%d+)$'))
  end
  return total
end
local function counter(key) return tonumber(redis.call('GET', key) or '0') end
local function estimate(key, prev, window, mark)
  return counter(prev) * (1 - (now - mark) / window) + counter(key)
end
"""

RESERVE = _COMMON + """
local worst_i, worst_retry, worst_reason = 0, -1, ''
for i = 1, n do
  local code, cap, window = tonumber(arg(i, 1)), tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local amount, mark = tonumber(arg(i, 4)), tonumber(arg(i, 5))
  local key, prev = KEYS[2 * i - 1], KEYS[2 * i]
  local retry = nil
  if amount > cap then
    if worst_reason ~= 'x' then worst_i, worst_retry, worst_reason = i, window, 'x' end
  elseif code == 1 then
    local level = bucket(key, cap, window)
    if amount > level then retry = (amount - level) * window / cap end
  elseif code == 2 then
    local cur, before = counter(key), counter(prev)
    local elapsed = now - mark
    if before * (1 - elapsed / window) + cur + amount > cap then
      local room = cap - cur - amount
      if room >= 0 and before > 0 then
        retry = math.max(0, window * (1 - room / before) - elapsed)
      else
        retry = window - elapsed
        if cur > 0 then retry = retry + math.max(0, window * (1 - (cap - amount) / cur)) end
      end
    end
  elseif code == 3 then
    if held(key) + amount > cap then retry = tonumber(arg(i, 6)) end
  else
    local spent = counter(key)
    if spent + amount > cap or (amount == 0 and spent >= cap) then
      retry = math.max(0, mark - now)
    end
  end
  if retry ~= nil and worst_reason ~= 'x' and retry > worst_retry then
    worst_i, worst_retry, worst_reason = i, retry, 'c'
  end
end
if worst_i > 0 then
  return {0, worst_i, string.format('%.17g', worst_retry), worst_reason}
end
for i = 1, n do
  local code, cap, window = tonumber(arg(i, 1)), tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local amount, extra = tonumber(arg(i, 4)), tonumber(arg(i, 6))
  local key = KEYS[2 * i - 1]
  if code == 1 then
    local level, ts = bucket(key, cap, window)
    put_bucket(key, level - amount, ts, cap, window)
  elseif code == 2 then
    redis.call('INCRBY', key, amount)
    redis.call('EXPIRE', key, math.ceil(2 * window) + 60)
  elseif code == 3 then
    redis.call('ZADD', key, now + extra, member .. ':' .. amount)
    redis.call('PEXPIRE', key, math.ceil((extra + 60) * 1000))
  else
    redis.call('INCRBY', key, amount)
    redis.call('EXPIRE', key, math.max(1, math.ceil(extra)))
  end
end
return {1}
"""

# For settle/release the second key of a sliding entry is the *current* window (extra charges).
FINISH = _COMMON + """
for i = 1, n do
  local code, cap, window = tonumber(arg(i, 1)), tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local refund = tonumber(arg(i, 4))
  local key, cur = KEYS[2 * i - 1], KEYS[2 * i]
  if code == 1 then
    local level, ts = bucket(key, cap, window)
    put_bucket(key, math.min(cap, level + refund), ts, cap, window)
  elseif code == 2 then
    if refund > 0 and redis.call('EXISTS', key) == 1 then
      redis.call('SET', key, math.max(0, counter(key) - refund), 'KEEPTTL')
    elseif refund < 0 then
      redis.call('INCRBY', cur, -refund)
      redis.call('EXPIRE', cur, math.ceil(2 * window) + 60)
    end
  elseif code == 3 then
    redis.call('ZREM', key, member .. ':' .. arg(i, 5))
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('DECRBY', key, refund)
  end
end
return 1
"""

# One entry; ARGV[2] (member) carries `remaining` for correct. Returns the used amount.
USAGE = _COMMON + """
local code, cap, window = tonumber(arg(1, 1)), tonumber(arg(1, 2)), tonumber(arg(1, 3))
local mark, extra = tonumber(arg(1, 5)), tonumber(arg(1, 6))
local key, prev = KEYS[1], KEYS[2]
local used
if code == 1 then
  local level = bucket(key, cap, window)
  used = cap - level
elseif code == 2 then
  used = estimate(key, prev, window, mark)
elseif code == 3 then
  used = held(key)
else
  used = counter(key)
end
if member ~= '' and code ~= 3 then
  local floor_used = cap - tonumber(member)
  if used < floor_used then
    if code == 1 then
      local level, ts = bucket(key, cap, window)
      put_bucket(key, cap - floor_used, ts, cap, window)
    else
      redis.call('INCRBY', key, math.ceil(floor_used - used))
      redis.call('EXPIRE', key, math.max(1, math.ceil(extra)))
    end
    used = floor_used
  end
end
return string.format('%.17g', used)
"""
