-- Stores a user's feed queue, unless it is already outdated: the user's queue generation
-- (bumped by every event appended for the user) and the queue epoch (bumped by a sync,
-- training, a pool cycle) must still be the ones the feed read before ranking; otherwise an
-- event that arrived meanwhile would be hidden by a queue ranked without it.
-- The user joins the partition's set of users holding a queue (scored with `at`; entries
-- older than the TTL leave it here): an epoch bump hands those users, and only those, to the
-- filler.
-- KEYS[1] queue (list), KEYS[2] its stamp (hash), KEYS[3] the user's meta (qg),
-- KEYS[4] the catalogue meta (queue_epoch), KEYS[5] the partition's users holding a queue
-- ARGV[1] qg read, ARGV[2] epoch read, ARGV[3] TTL s, ARGV[4] scenario, ARGV[5] page size n,
-- ARGV[6] candidates JSON, ARGV[7] at (epoch ms), ARGV[8] user id, ARGV[9..] entries
-- returns: 1 stored, 0 outdated (nothing written)
local g = redis.call('HGET', KEYS[3], 'qg') or '0'
local e = redis.call('HGET', KEYS[4], 'queue_epoch') or '0'
if g ~= ARGV[1] or e ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV >= 9 then
  for i = 9, #ARGV, 500 do  -- unpack() has a stack limit: push in slices
    redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
  end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
redis.call('HDEL', KEYS[2], 'lo')  -- a new queue is not running low
redis.call('HSET', KEYS[2], 'g', g, 'e', e, 'sc', ARGV[4], 'n', ARGV[5], 'c', ARGV[6],
  'at', ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local at = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. (at - 1000 * tonumber(ARGV[3])))
redis.call('ZADD', KEYS[5], at, ARGV[8])
return 1
