-- Not a script of its own: the start of queue_pop and queue_reserve (`-- include:
-- queue_stamp` there, expanded by graphrec.spine.store.lua_text), so both judge a queue
-- valid by the same rule. Reads the stamp into `st` (g, e, sc, n, c) and misses, returning
-- {0, why}, when there is no queue ('none'), the user's queue generation moved ('user'), the
-- queue epoch moved ('epoch'), or it was filled for another scenario or page size ('shape').
-- KEYS[2] the stamp, KEYS[3] the user's meta (qg), KEYS[4] where the epoch is read
-- (queue_epoch); ARGV[1] n, ARGV[3] scenario.
local st = redis.call('HMGET', KEYS[2], 'g', 'e', 'sc', 'n', 'c')
if not st[1] then return {0, 'none'} end
local g = redis.call('HGET', KEYS[3], 'qg') or '0'
local e = redis.call('HGET', KEYS[4], 'queue_epoch') or '0'
if st[1] ~= g then return {0, 'user'} end
if st[2] ~= e then return {0, 'epoch'} end
if st[3] ~= ARGV[3] or st[4] ~= ARGV[1] then return {0, 'shape'} end
