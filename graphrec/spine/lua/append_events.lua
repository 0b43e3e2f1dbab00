-- Appends one partition's share of an event batch, atomically: per event, the existence check
-- of the user, the dedup key (SET NX with a retention), the stream entry (XADD, AOF-logged
-- before the reply) and the user's online state (tag weights clamped, liked tags, net skips
-- per creator, follows, seen filter bits, the videos engaged with last); then each user's
-- online embedding steps once towards (or away from) the batch's videos, as
-- cypher/serving/update_profiles does.
-- Every key shares the partition's hash tag: one Redis Cluster slot per call. Inside Redis
-- each redis.call costs a few microseconds, so only the dedup key and the stream entry are
-- per event (in the batch's order; the batch's users are checked in one SMISMEMBER); the
-- online state is written per user once the batch's accepted events are known (a user may
-- send many events a batch): one HMGET and one HSET of the tag weights (computed exactly, see
-- tag_value), one HINCRBY per liked tag and per skipped creator, one SADD, one BITFIELD with
-- every seen bit, the recent list rewritten once. The state left is the one the events
-- written one by one would leave.
-- Numbers that repeat (ttl, maxlen, the seen bits, which the caller sends as text) go to
-- Redis as strings: a Lua number argument is formatted ("%.17g") on every call.
-- KEYS[1] partition stream, KEYS[2] the partition's set of known user ids
-- ARGV[1] key prefix of the partition ("gr:{p3}:"), ARGV[2] JSON request
--   {ttl, maxlen, rate, minw, maxw, dim, recent, qdelay (ms),
--    steps: {kind: [tenths, r]} (the kind's weight as Redis sends a Lua number, "%.17g",
--      = tenths / 10 + r * 1e-17 exactly; a kind absent is applied step by step),
--    vids: {video: [tags, seen bits as text]} (each video of the events once),
--    events: [{id, u, k, at, v?, c?, wm?, w}]}
-- ARGV[3..] pairs: video id, its embedding as normalised little-endian float32
-- returns: one status per event: accepted | duplicate | unknown user
local stream, users, prefix = KEYS[1], KEYS[2], ARGV[1]
local req = cjson.decode(ARGV[2])
local vec = {}
for i = 3, #ARGV, 2 do vec[ARGV[i]] = ARGV[i + 1] end
local dim = req.dim
local ttl, maxlen = tostring(req.ttl), tostring(req.maxlen)
local fmt = '<' .. string.rep('f', dim)
local steps = req.steps or {}
local vids = req.vids
local none = {}
local out, deltas, known, active, last = {}, {}, {}, {}, {}
local unpacked = {}  -- video id -> its embedding as numbers (a batch repeats videos)
local mine, order = {}, {}  -- per user: the accepted events, in order; users in first order
do  -- which of the batch's users are known: one SMISMEMBER per 1,000 (unpack's stack)
  local ul, seen = {}, {}
  for _, e in ipairs(req.events) do
    if not seen[e.u] then seen[e.u] = true; ul[#ul + 1] = e.u end
  end
  for s = 1, #ul, 1000 do
    local got = redis.call('SMISMEMBER', users, unpack(ul, s, math.min(s + 999, #ul)))
    for n = 1, #got do known[ul[s + n - 1]] = got[n] == 1 end
  end
end
for i, e in ipairs(req.events) do
  local k = known[e.u]
  if not k then
    out[i] = 'unknown user'
  elseif not redis.call('SET', prefix .. 'ev:' .. e.id, '1', 'NX', 'EX', ttl) then
    out[i] = 'duplicate'
  else
    out[i] = 'accepted'
    local at = tostring(e.at)
    local f = {'k', e.k, 'id', e.id, 'u', e.u, 'at', at}
    if e.v then f[#f + 1] = 'v'; f[#f + 1] = e.v end
    if e.c then f[#f + 1] = 'c'; f[#f + 1] = e.c end
    if e.wm then f[#f + 1] = 'wm'; f[#f + 1] = tostring(e.wm) end
    last[e.u] = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(f))
    active[e.u] = at  -- written once per user below
    local m = mine[e.u]
    if not m then
      m = {}
      mine[e.u] = m
      order[#order + 1] = e.u
    end
    m[#m + 1] = e
  end
end

-- Exact decimals: a value is (a, b, c) = a tenths + b * 1e-9 + c * 1e-17, b and c in
-- [0, 1e8) (limbs: every integer stays exact in a double).
local E8 = 1e8
local function norm(a, b, c)
  local q = math.floor(c / E8)
  c = c - q * E8
  b = b + q
  q = math.floor(b / E8)
  b = b - q * E8
  return a + q, b, c
end

-- A decimal string with at most 17 decimals (no exponent) as limbs; nil for anything else.
local function parse(s)
  local sign, int, frac = string.match(s, '^(%-?)(%d+)%.?(%d*)$')
  if not int or #int > 9 or #frac > 17 then return nil end
  frac = frac .. string.rep('0', 17 - #frac)
  local a = tonumber(int) * 10 + tonumber(string.sub(frac, 1, 1))
  local b, c = tonumber(string.sub(frac, 2, 9)), tonumber(string.sub(frac, 10, 17))
  if sign == '-' then return norm(-a, -b, -c) end
  return a, b, c
end

-- Limbs as Redis writes a HINCRBYFLOAT result: 17 decimals, trailing zeros (and dot) cut.
local function text(a, b, c)
  local sign = ''
  if a < 0 then  -- -N = (-a - 1) tenths + (1e8 - 1 - b) * 1e-9 + (1e8 - c) * 1e-17
    sign = '-'
    a, b, c = -a - 1, E8 - 1 - b, E8 - c
    if c == E8 then c = 0; b = b + 1 end
    if b == E8 then b = 0; a = a + 1 end
  end
  local s = string.format('%d.%d%08d%08d', math.floor(a / 10), a % 10, b, c)
  s = string.gsub(s, '0+$', '')
  s = string.gsub(s, '%.$', '')
  return sign .. s
end

-- The bounds as the clamp's HSET writes them (a Lua number is sent as "%.17g").
local maxs, mins = string.format('%.17g', req.maxw), string.format('%.17g', req.minw)
local maxa, maxb, maxc = parse(maxs)
local mina, minb, minc = parse(mins)
local exact = maxa ~= nil and mina ~= nil and text(maxa, maxb, maxc) == maxs
  and text(mina, minb, minc) == mins

-- A tag's steps one by one, as each event alone would: HINCRBYFLOAT, then clamped.
local function step_by_step(key, t, evs)
  for _, e in ipairs(evs) do
    -- The weight as "%.17g" (what Redis 7.0 sends for a Lua number; 7.2 sends the shortest
    -- form): the steps tag_value sums, whichever Redis runs the script.
    local x = tonumber(redis.call('HINCRBYFLOAT', key, t, string.format('%.17g', e.w)))
    if x > req.maxw then
      redis.call('HSET', key, t, req.maxw)
    elseif x < req.minw then
      redis.call('HSET', key, t, req.minw)
    end
  end
end

-- The string a tag's steps one by one leave, computed here: Redis adds in long double and
-- writes 17 decimals, so each step of a value with at most 17 decimals (under 15 in size)
-- by a weight with 17 decimals is exact, and so is this sum in limbs; a step that goes past
-- a bound is clamped to it, as the HSET does. nil (then step by step) for a value Redis may
-- round, a kind with no exact step, or a step within 1e-6 of a bound (where the script's
-- comparison of the parsed double decides).
local function tag_value(s0, evs)
  if not exact then return nil end
  local a, b, c = 0, 0, 0
  if s0 then
    a, b, c = parse(s0)
    if not a or math.abs(a / 10 + b / 1e9 + c / 1e17) >= 15 then return nil end
  end
  for _, e in ipairs(evs) do
    local st = steps[e.k]
    if not st then return nil end
    a, b, c = norm(a + st[1], b, c + st[2])
    local x = a / 10 + b / 1e9 + c / 1e17
    if math.abs(x - req.maxw) <= 1e-6 or math.abs(x - req.minw) <= 1e-6 or math.abs(x) >= 15 then
      return nil
    elseif x > req.maxw then
      a, b, c = maxa, maxb, maxc
    elseif x < req.minw then
      a, b, c = mina, minb, minc
    end
  end
  return text(a, b, c)
end

-- A user's tag weights: one HMGET, one HSET of every computed value (in the order the
-- tags were first touched: a new field lands where one by one puts it), step by step where
-- tag_value declines.
local function tag_weights(key, tags, evs_of)
  local cur = redis.call('HMGET', key, unpack(tags))
  local put = {}
  for n, t in ipairs(tags) do
    local v = tag_value(cur[n] or nil, evs_of[t])
    if v then
      put[#put + 1] = t
      put[#put + 1] = v
    else
      if #put > 0 then redis.call('HSET', key, unpack(put)); put = {} end
      step_by_step(key, t, evs_of[t])
    end
  end
  if #put > 0 then redis.call('HSET', key, unpack(put)) end
end

for _, uid in ipairs(order) do
  local up = prefix .. 'u:' .. uid .. ':'
  local tags, tag_evs, liked, liked_n, skips, skips_n = {}, {}, {}, {}, {}, {}
  local follows, bits = {}, {}
  local evs = mine[uid]
  local bitsof = {}  -- the videos whose seen bits are set (once each)
  for _, e in ipairs(evs) do
    local vf = e.v and vids[e.v]
    local etags = vf and vf[1] or none
    if e.w ~= 0 then
      for _, t in ipairs(etags) do
        local l = tag_evs[t]
        if not l then l = {}; tag_evs[t] = l; tags[#tags + 1] = t end
        l[#l + 1] = e
      end
    end
    if e.k == 'like' then
      for _, t in ipairs(etags) do
        if not liked_n[t] then liked_n[t] = 0; liked[#liked + 1] = t end
        liked_n[t] = liked_n[t] + 1
      end
    end
    if e.c and (e.k == 'skip' or e.k == 'view') then
      if not skips_n[e.c] then skips_n[e.c] = 0; skips[#skips + 1] = e.c end
      skips_n[e.c] = skips_n[e.c] + (e.k == 'skip' and 1 or -2)
    end
    if e.c and e.k == 'follow' then follows[#follows + 1] = e.c end
    if vf and not bitsof[e.v] then
      bitsof[e.v] = true
      for _, b in ipairs(vf[2]) do
        bits[#bits + 1] = 'SET'; bits[#bits + 1] = 'u1'; bits[#bits + 1] = b; bits[#bits + 1] = '1'
      end
    end
    if e.w ~= 0 and e.v and vec[e.v] then
      local d = deltas[uid]
      if not d then
        d = {}
        for j = 1, dim do d[j] = 0.0 end
        deltas[uid] = d
      end
      local x = unpacked[e.v]
      if not x then
        x = {struct.unpack(fmt, vec[e.v])}
        unpacked[e.v] = x
      end
      local w = e.w
      for j = 1, dim do d[j] = d[j] + w * x[j] end
    end
  end
  if #tags > 0 then tag_weights(up .. 'tags', tags, tag_evs) end
  for _, t in ipairs(liked) do redis.call('HINCRBY', up .. 'liked', t, liked_n[t]) end
  for _, c in ipairs(skips) do redis.call('HINCRBY', up .. 'skips', c, skips_n[c]) end
  if #follows > 0 then redis.call('SADD', up .. 'follows', unpack(follows)) end
  if #bits > 0 then redis.call('BITFIELD', up .. 'seen', unpack(bits)) end
  -- The videos engaged with, most recent first (each once), then the list as it was less
  -- those, cut to its length: what LREM + LPUSH + LTRIM per event would leave (the trim only
  -- when the push took it past that length). Each LREM scans the list (up to 200): past 3
  -- videos, one LRANGE + DEL + RPUSH costs less.
  local head, put = {}, {}
  for j = #evs, 1, -1 do
    local e = evs[j]
    if e.v and e.w > 0 and e.k ~= 'follow' and not put[e.v] then
      put[e.v] = true
      head[#head + 1] = e.v
    end
  end
  local key = up .. 'recent'
  if #head > 0 and #head <= 3 then  -- few: each removed where it was, all pushed, one trim
    for _, v in ipairs(head) do redis.call('LREM', key, 0, v) end
    local push = {}
    for j = #head, 1, -1 do push[#push + 1] = head[j] end
    if redis.call('LPUSH', key, unpack(push)) > req.recent then
      redis.call('LTRIM', key, 0, req.recent - 1)
    end
  elseif #head > 0 then  -- many: the list read once and written once
    for _, v in ipairs(redis.call('LRANGE', key, 0, -1)) do
      if #head >= req.recent then break end
      if not put[v] then head[#head + 1] = v end
    end
    while #head > req.recent do head[#head] = nil end
    redis.call('DEL', key)
    if #head > 0 then redis.call('RPUSH', key, unpack(head)) end
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
