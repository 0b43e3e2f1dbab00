-- grant.lua and serve.lua in one call, for a Redis where every key lives on one node (not a
-- Cluster: the budgets and the user's partition are different slots there). Grants what the
-- budgets allow, atomically; marks the granted videos seen and appends one "served" entry.
-- KEYS[1] budgets hash, KEYS[2] the user's partition stream, KEYS[3] the user's seen filter
-- ARGV[1] max stream length, ARGV[2] user id, ARGV[3] at, ARGV[4] feed id, ARGV[5] k (bits
-- per video), ARGV[6..] per video: its id, its logged features (a compact string, may be
-- empty), then its k bit offsets
-- returns: 1 (granted) or 0 (refused) per video
local k = tonumber(ARGV[5])
local out, granted, xs = {}, {}, {}
local i, n = 6, 0
while i <= #ARGV do
  local v = ARGV[i]
  n = n + 1
  local left = redis.call('HGET', KEYS[1], v)
  local ok = 0
  if not left then
    ok = 1
  elseif tonumber(left) > 0 then
    redis.call('HINCRBY', KEYS[1], v, -1)
    ok = 1
  end
  out[n] = ok
  if ok == 1 then
    granted[#granted + 1] = v
    xs[#xs + 1] = ARGV[i + 1]
    for j = 2, k + 1 do redis.call('SETBIT', KEYS[3], ARGV[i + j], 1) end
  end
  i = i + 2 + k
end
if #granted > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'k', 'served', 'u', ARGV[2],
    'at', ARGV[3], 'f', ARGV[4], 'v', table.concat(granted, ','), 'x', table.concat(xs, ';'))
end
return out
