-- Grants impressions against pool budgets, atomically: for each video id, a video with no
-- budget entry is granted; one with remaining > 0 is granted and counted down by 1; one at 0
-- is refused. Run as one script, no two feeds can both take a video's last impression.
-- KEYS[1] the budgets hash (video id -> remaining)
-- ARGV video ids
-- returns: 1 (granted) or 0 (refused) per video id
local out = {}
for i, v in ipairs(ARGV) do
  local left = redis.call('HGET', KEYS[1], v)
  if not left then
    out[i] = 1
  elseif tonumber(left) > 0 then
    redis.call('HINCRBY', KEYS[1], v, -1)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
