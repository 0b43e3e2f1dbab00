// Feed source "interest": videos tagged with the user's strongest tags ($tags: the profile's
// positive tag weights, computed from INTERESTED_IN and liked tags), approved, in a pool, not
// seen. Works before any training. Per tag the newest $per_tag videos are looked at (the
// video_created_at order), so cost stays flat as a tag grows.
// params: $user_id (string), $tags (list of {tag, w}), $per_tag (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})
UNWIND $tags AS want
MATCH (t:Tag {id: want.tag})
CALL (u, t) {
  MATCH (t)<-[:TAGGED]-(v:Video)
  WHERE v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
    AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
  WITH v ORDER BY v.created_at DESC LIMIT $per_tag
  RETURN v
}
WITH v, sum(want.w) AS score, collect(want.tag)[0] AS via
ORDER BY score DESC, v.created_at DESC LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, [(v)-[:TAGGED]->(t:Tag) | t.id] AS tags,
       score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       via
