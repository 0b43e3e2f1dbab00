// Feed source "following": the newest videos of creators the user follows, approved, in a
// pool, not seen.
// params: $user_id (string), $per_creator (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})-[:FOLLOWS]->(c:Creator)
CALL (u, c) {
  MATCH (c)-[:POSTED]->(v:Video)
  WHERE v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
    AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
  WITH v ORDER BY v.created_at DESC, v.id LIMIT $per_creator
  RETURN v
}
WITH c, v ORDER BY v.created_at DESC, v.id LIMIT $limit
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       1.0 AS score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(c.name, c.id) AS via
