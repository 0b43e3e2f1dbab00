// Feed source "pools": the best videos of the boost and trending pools (engagement per
// impression), approved, not seen. Global, so a user with no history gets them too.
// params: $user_id (string), $pools (list of string), $scan (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (p:Pool) WHERE p.id IN $pools
CALL (p) {
  MATCH (p)<-[:IN_POOL]-(v:Video)
  WITH v ORDER BY v.created_at DESC LIMIT $scan
  RETURN v
}
OPTIONAL MATCH (u:User {id: $user_id})
WITH p, u, v
WHERE v.status = 'approved' AND (u IS NULL OR NOT EXISTS { (u)-[:SAW]->(v) })
WITH p, v,
     (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
       / (coalesce(v.impressions, 0) + 10.0) AS quality
ORDER BY quality DESC LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, [(v)-[:TAGGED]->(t:Tag) | t.id] AS tags,
       quality AS score, v.duration_ms AS duration_ms, quality, p.id AS via
