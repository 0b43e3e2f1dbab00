-- A Redis Cluster's feed pop, the first of three calls (the budgets live on another slot:
-- then lua/grant_upto on the budgets' slot, lua/serve on the user's). Checks the stamp as
-- queue_pop does, then takes the next entries not in the seen filter, without looking at
-- budgets: n of them and up to `spare` more, for the grant to pass over spent ones. With
-- record = 1 it drops the entries up to the n-th taken and keeps the running-low mark and the
-- filler's due time as queue_pop does; the spares stay queued (one served in place of a
-- refused entry is then in the seen filter and passed over later). With record = 0 nothing
-- is written.
-- KEYS[1] queue, KEYS[2] its stamp, KEYS[3] the user's meta (qg), KEYS[4] the partition's
-- copy of the queue epoch, KEYS[5] the user's seen filter, KEYS[6] the partition's sorted set
-- of users to refill
-- ARGV[1] n, ARGV[2] record (1|0), ARGV[3] scenario, ARGV[4] user id, ARGV[5] low-water
-- mark, ARGV[6] spares
-- returns: {0, why} on a miss (as queue_pop; nothing written); else {1, candidates JSON, m,
-- then per entry taken: video, its bits not set yet (joined by ","), logged features, item
-- JSON}
-- include: queue_stamp
local n = tonumber(ARGV[1])
local want = n + tonumber(ARGV[6])
local seen = redis.call('GET', KEYS[5]) or ''
local rows, m, at_n = {}, 0, 0
local pos, len, chunk = 0, redis.call('LLEN', KEYS[1]), 2 * n
while m < want and pos < len do
  local entries = redis.call('LRANGE', KEYS[1], pos, pos + chunk - 1)
  for _, x in ipairs(entries) do
    pos = pos + 1
    local t1 = string.find(x, '\t', 1, true)
    local t2 = string.find(x, '\t', t1 + 1, true)
    local mine = {}  -- the video's bits not set yet: none means seen
    for b in string.gmatch(string.sub(x, t1 + 1, t2 - 1), '%d+') do
      local p = tonumber(b)
      local byte = string.byte(seen, math.floor(p / 8) + 1)
      if not byte or bit.band(byte, bit.rshift(128, p % 8)) == 0 then mine[#mine + 1] = b end
    end
    if #mine > 0 then
      m = m + 1
      rows[#rows + 1] = string.sub(x, 1, t1 - 1)
      rows[#rows + 1] = table.concat(mine, ',')
      -- the item JSON starts with "{" (it holds no raw tab): a third field is the log
      local t3 = string.byte(x, t2 + 1) ~= 123 and string.find(x, '\t', t2 + 1, true)
      if t3 then
        rows[#rows + 1] = string.sub(x, t2 + 1, t3 - 1)
        rows[#rows + 1] = string.sub(x, t3 + 1)
      else
        rows[#rows + 1] = ''
        rows[#rows + 1] = string.sub(x, t2 + 1)
      end
      if m == n then at_n = pos end
      if m >= want then break end
    end
  end
  chunk = 4 * n
end
if m < n then return {0, 'short'} end
if ARGV[2] == '1' then
  redis.call('LTRIM', KEYS[1], at_n, -1)
  -- As queue_pop: the usable entries left, at this walk's usable share, below the mark:
  -- running low, due at once, scored with that estimate.
  local rest = (len - at_n) * n
  if rest < tonumber(ARGV[5]) * at_n then
    redis.call('HSET', KEYS[2], 'lo', 1)
    redis.call('ZADD', KEYS[6], 'LT', math.floor(rest / at_n), ARGV[4])
  end
end
local out = {1, st[5], m}
for _, r in ipairs(rows) do out[#out + 1] = r end
return out
