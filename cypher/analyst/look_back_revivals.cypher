// Look-back revivals and their outcome: videos the lifecycle brought back from the long tail
// (a MOVED with reason 'look_back'), the pool they went to, the engagement they earned since
// (likes and views after the revival) and where they are now: promoted further, settled back
// in the long tail, or still being served.
// params: $since (int, epoch ms: revivals at or after), $limit (int)
// defaults: $since = 0, $limit = 50
// returns: video_id, creator_id, revived_at, cycle, from_pool, to_pool, score_at_revival,
//   current_pool, current_score, views_since, likes_since, outcome
MATCH (v:Video)-[m:MOVED]->(to:Pool)
WHERE m.reason = 'look_back' AND m.at >= $since
WITH v, m, to ORDER BY m.at DESC, v.id LIMIT $limit
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
OPTIONAL MATCH (v)-[:IN_POOL]->(now:Pool)
CALL (v, m) {
  OPTIONAL MATCH (:User)-[e:VIEWED|LIKED]->(v)
  WHERE e.at >= m.at
  RETURN count(CASE WHEN type(e) = 'VIEWED' THEN e END) AS views_since,
         count(CASE WHEN type(e) = 'LIKED' THEN e END) AS likes_since
}
RETURN v.id AS video_id, c.id AS creator_id, m.at AS revived_at, m.cycle AS cycle,
       m.from AS from_pool, to.id AS to_pool, m.score AS score_at_revival,
       now.id AS current_pool, v.score AS current_score, views_since, likes_since,
       CASE
         WHEN now IS NULL THEN 'removed'
         WHEN now.id = 'long_tail' THEN 'settled'
         WHEN now.level > to.level THEN 'promoted'
         ELSE 'serving'
       END AS outcome
ORDER BY revived_at DESC, video_id;
