// Trending videos that have trended $max_age_ms settle in the long tail (reason 'settled').
// params: $now (int, epoch ms), $max_age_ms (int)
// returns: video_id, from_pool, to_pool, reason, score
MATCH (:Pool {id: 'trending'})<-[r:IN_POOL]-(v:Video)
WHERE r.since <= $now - $max_age_ms
RETURN v.id AS video_id, 'trending' AS from_pool, 'long_tail' AS to_pool,
       'settled' AS reason, v.score AS score
ORDER BY video_id
