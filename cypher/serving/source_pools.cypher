// Feed source "pools" (shared by every user): the best videos of the given pools (trending,
// boost) by engagement per impression, approved. The newest $scan of each pool are ranked.
// params: $pools (list of string), $scan (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (p:Pool) WHERE p.id IN $pools
CALL (p) {
  MATCH (p)<-[:IN_POOL]-(v:Video)
  WHERE v.status = 'approved'
  WITH v ORDER BY v.created_at DESC LIMIT $scan
  RETURN v
}
WITH p, v,
     (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
       / (coalesce(v.impressions, 0) + 10.0) AS quality
ORDER BY quality DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, [(v)-[:TAGGED]->(t:Tag) | t.id] AS tags,
       quality AS score, v.duration_ms AS duration_ms, quality, p.id AS via
