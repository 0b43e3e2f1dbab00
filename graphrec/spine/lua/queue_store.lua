-- Stores a user's feed queue, unless it is already outdated: the user's queue generation
-- (bumped by every event appended for the user) and the queue epoch (bumped by a sync,
-- training, a pool cycle) must still be the ones the feed read before ranking; otherwise an
-- event that arrived meanwhile would be hidden by a queue ranked without it.
-- KEYS[1] queue (list), KEYS[2] its stamp (hash), KEYS[3] the user's meta (qg),
-- KEYS[4] the catalogue meta (queue_epoch)
-- ARGV[1] qg read, ARGV[2] epoch read, ARGV[3] TTL s, ARGV[4] scenario, ARGV[5] page size n,
-- ARGV[6] candidates JSON, ARGV[7] at (epoch ms), ARGV[8..] entries
-- returns: 1 stored, 0 outdated (nothing written)
local g = redis.call('HGET', KEYS[3], 'qg') or '0'
local e = redis.call('HGET', KEYS[4], 'queue_epoch') or '0'
if g ~= ARGV[1] or e ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV >= 8 then
  for i = 8, #ARGV, 500 do  -- unpack() has a stack limit: push in slices
    redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
  end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
redis.call('HSET', KEYS[2], 'g', g, 'e', e, 'sc', ARGV[4], 'n', ARGV[5], 'c', ARGV[6],
  'at', ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
