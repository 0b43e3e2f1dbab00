-- Serves a feed from the user's precomputed queue, atomically (a Redis where every key lives
-- on one node): when the queue is valid (its stamp matches the user's queue generation, the
-- queue epoch, the scenario and the page size), takes the next entries not in the seen
-- filter and within their pool budget (a refused or seen entry is passed over) until n are
-- found. With record = 1 it then counts the budgets down, marks the videos seen, appends one
-- "served" entry and drops the entries it went through. Below `low` usable entries left, as
-- this walk's usable share estimates them, the user goes to the filler's set, due at once, and
-- the stamp is marked running low ('lo': the filler's validity check reads it, so a queue
-- long by its length but mostly passed over is ranked again); its score there is that
-- estimate (the fewest left are refilled first). With record = 0 nothing is written.
-- Fewer than n found: a miss, nothing written either (the caller ranks the normal way and
-- stores a new queue).
-- KEYS[1] queue (list of "video\tbit,bit,..\tlogged features\titem JSON"; an entry stored
-- before the features were logged has no third field), KEYS[2] its stamp (hash),
-- KEYS[3] the user's meta (qg), KEYS[4] the catalogue meta (queue_epoch), KEYS[5] budgets,
-- KEYS[6] the user's partition stream, KEYS[7] the user's seen filter, KEYS[8] the
-- partition's sorted set of users to refill (by due time)
-- ARGV[1] n, ARGV[2] record (1|0), ARGV[3] scenario, ARGV[4] stream maxlen, ARGV[5] user id,
-- ARGV[6] at (epoch ms), ARGV[7] feed id, ARGV[8] low-water mark
-- returns: {0, why} on a miss (why: 'none' no queue or expired, 'user' the user's queue
-- generation moved after the fill: an event, new nearline neighbours; 'epoch' every queue
-- outdated, 'shape' filled for another n or
-- scenario, 'short' fewer than n entries left unseen and within budget); else
-- {1, candidates JSON, item JSON, ...}
-- include: queue_stamp
local n = tonumber(ARGV[1])
local seen = redis.call('GET', KEYS[7]) or ''
local out = {1, st[5]}
local vids, budgeted, bits, xs = {}, {}, {}, {}
local pos, len, chunk = 0, redis.call('LLEN', KEYS[1]), 2 * n
while #vids < n and pos < len do
  local entries = redis.call('LRANGE', KEYS[1], pos, pos + chunk - 1)
  for _, x in ipairs(entries) do
    pos = pos + 1
    local t1 = string.find(x, '\t', 1, true)
    local t2 = string.find(x, '\t', t1 + 1, true)
    local vid = string.sub(x, 1, t1 - 1)
    local mine, all = {}, true  -- the video's bits not set yet: none means seen
    for b in string.gmatch(string.sub(x, t1 + 1, t2 - 1), '%d+') do
      local p = tonumber(b)
      local byte = string.byte(seen, math.floor(p / 8) + 1)
      if not byte or bit.band(byte, bit.rshift(128, p % 8)) == 0 then
        all = false
        mine[#mine + 1] = b
      end
    end
    if not all then  -- not seen: within budget?
      local left = redis.call('HGET', KEYS[5], vid)
      if not left or tonumber(left) > 0 then
        vids[#vids + 1] = vid
        budgeted[#vids] = left and true or false
        for _, b in ipairs(mine) do bits[#bits + 1] = b end
        -- the item JSON starts with "{" (it holds no raw tab): a third field is the log
        local t3 = string.byte(x, t2 + 1) ~= 123 and string.find(x, '\t', t2 + 1, true)
        if t3 then
          xs[#vids] = string.sub(x, t2 + 1, t3 - 1)
          out[#out + 1] = string.sub(x, t3 + 1)
        else
          xs[#vids] = ''
          out[#out + 1] = string.sub(x, t2 + 1)
        end
        if #vids >= n then break end
      end
    end
  end
  chunk = 4 * n
end
if #vids < n then return {0, 'short'} end
if ARGV[2] == '1' then
  for i, v in ipairs(vids) do
    if budgeted[i] then redis.call('HINCRBY', KEYS[5], v, '-1') end
  end
  -- Only the bits not set yet, as the entry's own digits: Redis turns each Lua number
  -- argument into text with snprintf (`bench popcpu`: 206.5 -> 185.9 us of script time a
  -- pop; docs/serving.md, round eighteen).
  local bf = {}
  for _, b in ipairs(bits) do
    bf[#bf + 1] = 'SET'; bf[#bf + 1] = 'u1'; bf[#bf + 1] = b; bf[#bf + 1] = '1'
  end
  if #bf > 0 then redis.call('BITFIELD', KEYS[7], unpack(bf)) end
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[4], '*', 'k', 'served', 'u', ARGV[5],
    'at', ARGV[6], 'f', ARGV[7], 'v', table.concat(vids, ','), 'x', table.concat(xs, ';'))
  redis.call('LTRIM', KEYS[1], pos, -1)
  -- Entries whose budget ran out or that were seen elsewhere are passed over (16 % of queued
  -- entries after `bench serve`; 12 % of queues then held fewer than `low` usable entries
  -- with more than `low` left): the entries left are counted at this walk's usable share.
  -- Due at once, scored with the usable entries it has left (far below any event's due
  -- time, epoch ms): a filler behind takes the users nearest to a miss first, not in the
  -- order of their ids (equal scores).
  local rest = (len - pos) * #vids  -- the usable entries left, times pos
  if rest < tonumber(ARGV[8]) * pos then
    redis.call('HSET', KEYS[2], 'lo', 1)
    redis.call('ZADD', KEYS[8], 'LT', math.floor(rest / pos), ARGV[5])
  end
end
return out
