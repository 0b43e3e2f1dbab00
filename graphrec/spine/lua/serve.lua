-- Records a served feed, atomically: the videos' bits in the user's seen filter and one
-- stream entry (kind "served") the graph writer turns into SAW relationships and counters.
-- KEYS[1] the user's partition stream, KEYS[2] the user's seen filter (a Bloom bitmap)
-- ARGV[1] max stream length (approximate), ARGV[2] user id, ARGV[3] at (epoch ms),
-- ARGV[4] feed id, ARGV[5] video ids joined by ",", ARGV[6] their logged features joined by
-- ";" (one compact string per video, in order), ARGV[7..] bit offsets to set
-- returns: the stream entry id
for i = 7, #ARGV do redis.call('SETBIT', KEYS[2], ARGV[i], 1) end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
  'k', 'served', 'u', ARGV[2], 'at', ARGV[3], 'f', ARGV[4], 'v', ARGV[5], 'x', ARGV[6])
