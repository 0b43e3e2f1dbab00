// Feed source "pools" (shared by every user): the best videos of the given pools (trending,
// boost) by engagement per impression, approved, with impressions left in their pool entry (a
// boost video whose budget is spent waits for the pool cycle's decision and serves nothing
// more: listed, it would take a slot no grant lets through). The newest $scan of each pool
// are ranked.
// params: $pools (list of string), $scan (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (p:Pool) WHERE p.id IN $pools
CALL (p) {
  MATCH (p)<-[r:IN_POOL]-(v:Video)
  WHERE v.status = 'approved' AND (coalesce(r.budget, 0) = 0 OR coalesce(r.served, 0) < r.budget)
  WITH v ORDER BY v.created_at DESC LIMIT $scan
  RETURN v
}
WITH p, v,
     (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
       / (coalesce(v.impressions, 0) + 10.0) AS quality
ORDER BY quality DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       quality AS score, v.duration_ms AS duration_ms, quality, p.id AS via
