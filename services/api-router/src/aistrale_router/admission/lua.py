"""The Lua scripts: one round trip in (`ADMIT`), one out (`SETTLE`), and `EXTEND` for a
stream that runs past its reservation. `memory.py` is the same logic in Python; the
contract tests hold both to the same answers.

Budget scope `s` keeps `s:held` (a hash: reservation id -> micro-USD, `_total` -> their sum)
and `s:exp` (a sorted set: reservation id -> deadline in ms). Every script that reads a
scope first releases the reservations past their deadline: that is how the budget recovers
from a router that died mid-request, with no sweeper process.

Lua numbers are doubles: costs are computed exactly for values below 2^53, which covers any
realistic prompt size times any realistic price.
"""

from __future__ import annotations

_COMMON = """
local MTOK = 1000000
local function cost(p, c, pin, pout)
  local x = p * pin + c * pout
  local q = math.floor(x / MTOK)
  local r = x - q * MTOK
  while r < 0 do q = q - 1; r = r + MTOK end
  while r >= MTOK do q = q + 1; r = r - MTOK end
  if r > 0 then q = q + 1 end
  return q
end
-- Every computed number goes to Redis as an integer string: Lua's numbers are doubles,
-- and Redis refuses the '-0' or '1e+16' they may print as.
local function int(n) return string.format('%d', n) end
local function hincr(key, field, n)
  if n ~= 0 then redis.call('HINCRBY', key, field, int(n)) end
end
-- Drops a hold and its deadline; a hold of 0 (a lease given back, one on a free model)
-- is dropped like any other.
local function release(held, exp, r)
  local amount = tonumber(redis.call('HGET', held, r) or '0')
  redis.call('ZREM', exp, r)
  redis.call('HDEL', held, r)
  hincr(held, '_total', -amount)
end
local function reclaim(held, exp, now)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', '(' .. int(now), 'LIMIT', 0, 512)
  for _, r in ipairs(gone) do release(held, exp, r) end
end
-- per budget line: what its period spent plus everything its scope holds; spent is the
-- routers' counter or the floor reconciliation raised it to (aistrale_common.budget_counters)
local function usage(nw, ns, nl, base)
  local used = {}
  for l = 1, nl do
    local s = tonumber(ARGV[base + 2 * l])
    local held = tonumber(redis.call('HGET', KEYS[nw + 2 * s - 1], '_total') or '0')
    local k = nw + 2 * ns + 2 * l - 1
    local counted = tonumber(redis.call('GET', KEYS[k]) or '0')
    local floor = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
    used[l] = math.max(counted, floor) + held
  end
  return used
end
-- the least any budget line has left, and that line
local function tightest(used, nl, base)
  local best, blocking = 0, 0
  for l = 1, nl do
    local left = tonumber(ARGV[base + 2 * l - 1]) - used[l]
    if blocking == 0 or left < best then best = left; blocking = l end
  end
  return best, blocking
end
local function reply(head, counts, used)
  for _, c in ipairs(counts) do head[#head + 1] = c end
  for _, u in ipairs(used) do head[#head + 1] = u end
  return head
end
-- adds to a window's count; a new window lives until ttl_ms from now
local function count(key, amount, ttl_ms)
  local value = redis.call('INCRBY', key, int(amount))
  if value == amount then redis.call('PEXPIRE', key, int(ttl_ms)) end
  return value
end
local function hold(nw, ns, rid, amount, deadline, ttl)
  for s = 1, ns do
    local held, exp = KEYS[nw + 2 * s - 1], KEYS[nw + 2 * s]
    hincr(held, rid, amount)
    hincr(held, '_total', amount)
    redis.call('ZADD', exp, int(deadline), rid)
    if redis.call('PTTL', held) < ttl then  -- a short lease must not cut a long hold's life
      redis.call('PEXPIRE', held, int(ttl))
      redis.call('PEXPIRE', exp, int(ttl))
    end
  end
end
"""

# KEYS: windows (nw) | per scope: held, exp (ns) | per line: spent key, its floor (nl)
# ARGV: now, rid, deadline, prompt, want, explicit, min, pin, pout, nw, ns, nl, scope_ttl,
#       choices, per window: limit, kind (0 requests, 1 tokens), ttl_ms | per line: limit,
#       scope
# `choices`: completions of up to `want` tokens each (n, best_of), all paid for.
# Returns {status, grant, held, blocking, each window's count, each line's spent + held
# before this admission}.
ADMIT = (
    _COMMON
    + """
local now, rid, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local prompt, want, explicit = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local min, pin, pout = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local nw, ns, nl, scope_ttl = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]),
  tonumber(ARGV[13])
local n = tonumber(ARGV[14])
local W, L = 14, 14 + 3 * nw
for s = 1, ns do reclaim(KEYS[nw + 2 * s - 1], KEYS[nw + 2 * s], now) end
local counts = {}
for i = 1, nw do counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
local used = usage(nw, ns, nl, L)
for i = 1, nw do
  if ARGV[W + 3 * i - 1] == '0' and counts[i] + 1 > tonumber(ARGV[W + 3 * i - 2]) then
    return reply({1, 0, 0, i}, counts, used)
  end
end
local floor = math.min(min, want)
local grant = want
local priced = nl > 0 and (pin > 0 or pout > 0)
if priced then
  local left, blocking = tightest(used, nl, L)
  if cost(prompt, want * n, pin, pout) > left then
    if cost(prompt, 0, pin, pout) > left then
      grant = -1
    elseif pout == 0 then
      grant = want
    else
      grant = math.floor((left * MTOK - prompt * pin) / (pout * n))
      while grant > 0 and cost(prompt, grant * n, pin, pout) > left do grant = grant - 1 end
      while grant < want and cost(prompt, (grant + 1) * n, pin, pout) <= left do
        grant = grant + 1
      end
      grant = math.max(0, math.min(want, grant))
    end
    if grant < floor then return reply({2, 0, 0, blocking}, counts, used) end
  end
end
for i = 1, nw do
  if ARGV[W + 3 * i - 1] == '1' then
    local left = math.floor((tonumber(ARGV[W + 3 * i - 2]) - counts[i] - prompt) / n)
    if grant > left then
      if explicit or left < floor then return reply({1, 0, 0, i}, counts, used) end
      grant = left
    end
  end
end
local held = 0
if priced then held = cost(prompt, grant * n, pin, pout) end
for i = 1, nw do
  local amount = 1
  if ARGV[W + 3 * i - 1] == '1' then amount = prompt + grant * n end
  counts[i] = count(KEYS[i], amount, ARGV[W + 3 * i])
end
if held > 0 then hold(nw, ns, rid, held, deadline, scope_ttl) end
return reply({0, grant, held, 0}, counts, used)
"""
)

# KEYS: per scope: held, exp (ns) | token windows (nt) | spend keys (nsp)
# ARGV: rid, ns, nt, nsp, token_delta, cost, lease, release, per spend key: ttl_s (0: keep)
# Drops the reservation `rid` (if any) and, for a request admitted from a lease, takes its
# part (`release`) out of the lease's hold; a lease already reclaimed gives back nothing.
SETTLE = (
    _COMMON
    + """
local rid, ns, nt, nsp = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local delta, cost = tonumber(ARGV[5]), tonumber(ARGV[6])
local lease, give = ARGV[7], tonumber(ARGV[8])
for s = 1, ns do
  local held, exp = KEYS[2 * s - 1], KEYS[2 * s]
  if rid ~= '' then release(held, exp, rid) end
  if give > 0 then
    local has = tonumber(redis.call('HGET', held, lease) or '0')
    local part = math.min(give, has)
    if part == has then
      release(held, exp, lease)  -- nothing left under the lease: no field, no deadline
    elseif part > 0 then
      hincr(held, lease, -part)
      hincr(held, '_total', -part)
    end
  end
end
if delta ~= 0 then
  for t = 1, nt do
    if redis.call('EXISTS', KEYS[2 * ns + t]) == 1 then
      redis.call('INCRBY', KEYS[2 * ns + t], int(delta))
    end
  end
end
if cost > 0 then
  for k = 1, nsp do
    local key = KEYS[2 * ns + nt + k]
    local value = redis.call('INCRBY', key, int(cost))
    local ttl = tonumber(ARGV[8 + k])
    if value == cost and ttl > 0 then redis.call('EXPIRE', key, int(ttl)) end
  end
end
return 1
"""
)

# KEYS: per scope: held, exp (ns) | per line: spent key, its floor (nl)
# ARGV: now, rid, deadline, need, extra, ns, nl, scope_ttl, per line: limit, scope
# Holds up to `extra` more (at least `need`) and moves the deadline; returns what it held,
# or -1. need = extra = 0 only refreshes the deadline of a long stream.
EXTEND = (
    _COMMON
    + """
local now, rid, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local need, extra = tonumber(ARGV[4]), tonumber(ARGV[5])
local ns, nl, scope_ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
for s = 1, ns do reclaim(KEYS[2 * s - 1], KEYS[2 * s], now) end
local left = tightest(usage(0, ns, nl, 8), nl, 8)
if need > 0 and left < need then return -1 end
local amount = math.max(0, math.min(extra, left))
hold(0, ns, rid, amount, deadline, scope_ttl)
return amount
"""
)

# KEYS: windows (nw) | per scope: held, exp (ns) | per line: spent key, its floor (nl)
# ARGV: now, lease, deadline, amount, nw, ns, nl, scope_ttl,
#       per window: want, limit, ttl_ms | per line: limit, scope
# A lease (admission/leases.py): `want` more of each window and `amount` micro-USD more held
# under the lease id, all or nothing; moves the lease's deadline. Returns {1 or 0, what the
# lease holds now in the first scope (less than the router thinks: it expired), each
# window's count, each line's spent + held before the lease}.
LEASE = (
    _COMMON
    + """
local now, lease, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local amount, nw, ns, nl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7])
local scope_ttl, W, L = tonumber(ARGV[8]), 8, 8 + 3 * nw
local function mine()
  if ns == 0 then return 0 end
  return tonumber(redis.call('HGET', KEYS[nw + 1], lease) or '0')
end
for s = 1, ns do reclaim(KEYS[nw + 2 * s - 1], KEYS[nw + 2 * s], now) end
local used = usage(nw, ns, nl, L)
local counts = {}
for i = 1, nw do counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for i = 1, nw do
  if counts[i] + tonumber(ARGV[W + 3 * i - 2]) > tonumber(ARGV[W + 3 * i - 1]) then
    return reply({0, mine()}, counts, used)
  end
end
if amount > 0 and tightest(used, nl, L) < amount then return reply({0, mine()}, counts, used) end
for i = 1, nw do
  local want = tonumber(ARGV[W + 3 * i - 2])
  if want > 0 then counts[i] = count(KEYS[i], want, ARGV[W + 3 * i]) end
end
hold(nw, ns, lease, amount, deadline, scope_ttl)
return reply({1, mine()}, counts, used)
"""
)
