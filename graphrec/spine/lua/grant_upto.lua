-- Grants n of the given videos against pool budgets, in their order, atomically, or none:
-- a video with no budget entry is granted; one with remaining > 0 is granted and (count = 1)
-- counted down by 1; one at 0 is passed over; past the n-th granted, the rest are not looked
-- at. When fewer than n can be granted nothing is counted down (a Redis Cluster's feed pop
-- then misses as 'short' and ranks). Run as one script, no two feeds can both take a
-- video's last impression.
-- KEYS[1] the budgets hash (video id -> remaining)
-- ARGV[1] n, ARGV[2] count (1) or only look (0), ARGV[3..] video ids
-- returns: 1 (granted) or 0 per video id; all 0 when fewer than n could be granted
local n = tonumber(ARGV[1])
local out, got, down = {}, 0, {}
for i = 3, #ARGV do
  local ok = 0
  if got < n then
    local left = redis.call('HGET', KEYS[1], ARGV[i])
    if not left then
      ok = 1
    elseif tonumber(left) > 0 then
      ok = 1
      down[#down + 1] = ARGV[i]
    end
  end
  got = got + ok
  out[#out + 1] = ok
end
if got < n then
  for i = 1, #out do out[i] = 0 end
  return out
end
if ARGV[2] == '1' then
  for _, v in ipairs(down) do redis.call('HINCRBY', KEYS[1], v, '-1') end
end
return out
