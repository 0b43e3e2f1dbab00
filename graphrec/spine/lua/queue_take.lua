-- Takes the users whose feed-queue refill is due (the debounce of graphrec/spine/queue.py):
-- up to ARGV[1] members of the sorted set KEYS[1] scored at or before Redis's clock (epoch
-- ms), removed in the same step, earliest first. A user's event after this adds the user
-- again (append_events.lua), so no invalidation is lost between the take and the refill.
-- KEYS[1] the partition's set of users due (qdue), ARGV[1] how many at most
-- returns: the user ids taken
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local users = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
if #users > 0 then redis.call('ZREM', KEYS[1], unpack(users)) end
return users
