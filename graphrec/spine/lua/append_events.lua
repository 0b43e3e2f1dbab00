-- Appends one partition's share of an event batch, atomically: per event, the existence check
-- of the user, the dedup key (SET NX with a retention), the stream entry (XADD, AOF-logged
-- before the reply) and the user's online state (tag weights clamped, liked tags, net skips
-- per creator, follows, seen filter bits, the videos engaged with last); then each user's online embedding steps once
-- towards (or away from) the batch's videos, as cypher/serving/update_profiles does.
-- Every key shares the partition's hash tag: one Redis Cluster slot per call. Inside Redis
-- each redis.call costs a few microseconds: per user once what need not be per event (the
-- user check, active_at, the feed queue's generation and refill), an event's k seen bits in one
-- BITFIELD.
-- KEYS[1] partition stream, KEYS[2] the partition's set of known user ids
-- ARGV[1] key prefix of the partition ("gr:{p3}:"), ARGV[2] JSON request
--   {ttl, maxlen, rate, minw, maxw, dim, recent, qdelay (ms),
--    events: [{id, u, k, at, v?, c?, wm?, w, tags, bits}]}
-- ARGV[3..] pairs: video id, its embedding as normalised little-endian float32
-- returns: one status per event: accepted | duplicate | unknown user
local stream, users, prefix = KEYS[1], KEYS[2], ARGV[1]
local req = cjson.decode(ARGV[2])
local vec = {}
for i = 3, #ARGV, 2 do vec[ARGV[i]] = ARGV[i + 1] end
local dim = req.dim
local fmt = '<' .. string.rep('f', dim)
local out, deltas, known, active, last = {}, {}, {}, {}, {}
for i, e in ipairs(req.events) do
  local k = known[e.u]
  if k == nil then
    k = redis.call('SISMEMBER', users, e.u) == 1
    known[e.u] = k
  end
  if not k then
    out[i] = 'unknown user'
  elseif not redis.call('SET', prefix .. 'ev:' .. e.id, '1', 'NX', 'EX', req.ttl) then
    out[i] = 'duplicate'
  else
    out[i] = 'accepted'
    local f = {'k', e.k, 'id', e.id, 'u', e.u, 'at', tostring(e.at)}
    if e.v then f[#f + 1] = 'v'; f[#f + 1] = e.v end
    if e.c then f[#f + 1] = 'c'; f[#f + 1] = e.c end
    if e.wm then f[#f + 1] = 'wm'; f[#f + 1] = tostring(e.wm) end
    last[e.u] = redis.call('XADD', stream, 'MAXLEN', '~', req.maxlen, '*', unpack(f))
    local up = prefix .. 'u:' .. e.u .. ':'
    if e.w ~= 0 then
      for _, t in ipairs(e.tags) do
        local x = tonumber(redis.call('HINCRBYFLOAT', up .. 'tags', t, e.w))
        if x > req.maxw then
          redis.call('HSET', up .. 'tags', t, req.maxw)
        elseif x < req.minw then
          redis.call('HSET', up .. 'tags', t, req.minw)
        end
      end
    end
    if e.k == 'like' then
      for _, t in ipairs(e.tags) do redis.call('HINCRBY', up .. 'liked', t, 1) end
    end
    if e.c and e.k == 'skip' then redis.call('HINCRBY', up .. 'skips', e.c, 1) end
    if e.c and e.k == 'view' then redis.call('HINCRBY', up .. 'skips', e.c, -2) end
    if e.c and e.k == 'follow' then redis.call('SADD', up .. 'follows', e.c) end
    if #e.bits > 0 then  -- the k seen bits in one command
      local bf = {}
      for _, b in ipairs(e.bits) do
        bf[#bf + 1] = 'SET'; bf[#bf + 1] = 'u1'; bf[#bf + 1] = b; bf[#bf + 1] = 1
      end
      redis.call('BITFIELD', up .. 'seen', unpack(bf))
    end
    if e.v and e.w > 0 and e.k ~= 'follow' then  -- engaged with: the item-to-item history
      redis.call('LREM', up .. 'recent', 0, e.v)
      redis.call('LPUSH', up .. 'recent', e.v)
      redis.call('LTRIM', up .. 'recent', 0, req.recent - 1)
    end
    active[e.u] = e.at  -- written once per user below
    if e.w ~= 0 and e.v and vec[e.v] then
      local d = deltas[e.u]
      if not d then
        d = {}
        for j = 1, dim do d[j] = 0.0 end
        deltas[e.u] = d
      end
      local x = {struct.unpack(fmt, vec[e.v])}
      for j = 1, dim do d[j] = d[j] + e.w * x[j] end
    end
  end
end
local due = nil
for uid, at in pairs(active) do
  -- The user's feed queue generation becomes the user's last entry id (unique): a queue
  -- ranked before is outdated, the next feed ranks again (the filler may do it first).
  local up = prefix .. 'u:' .. uid .. ':'
  redis.call('HSET', up .. 'meta', 'active_at', at, 'qg', last[uid])
  -- The filler's debounce: a user holding a queue is due for a refill qdelay ms after the
  -- event that outdated it; NX keeps the first due time, so a burst of the user's events
  -- within the delay costs one ranking. A user with no queue (no feed read within the
  -- queue's TTL) gets none: the next feed ranks and stores it.
  if redis.call('EXISTS', up .. 'qs') == 1 then
    if not due then
      local t = redis.call('TIME')
      due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + (req.qdelay or 0)
    end
    redis.call('ZADD', prefix .. 'qdue', 'NX', due, uid)
  end
end
for uid, d in pairs(deltas) do
  local key = prefix .. 'u:' .. uid .. ':emb'
  local base = redis.call('GET', key)
  local b, bn = nil, 0.0
  if base and #base == 4 * dim then
    b = {struct.unpack(fmt, base)}
    for j = 1, dim do bn = bn + b[j] * b[j] end
    bn = math.sqrt(bn)
  end
  local raw, rn = {}, 0.0
  for j = 1, dim do
    local v = req.rate * d[j]
    if bn > 0 then v = v + b[j] / bn end
    raw[j] = v
    rn = rn + v * v
  end
  rn = math.sqrt(rn)
  if rn > 0 then
    for j = 1, dim do raw[j] = raw[j] / rn end
    redis.call('SET', key, struct.pack(fmt, unpack(raw)))
    redis.call('HSET', prefix .. 'u:' .. uid .. ':meta', 'emb_online', 1)
    redis.call('SADD', prefix .. 'moved', uid)
  end
end
return out
