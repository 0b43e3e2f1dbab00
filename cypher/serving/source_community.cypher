// Feed source "community": amplified winners of the user's interest communities (MEMBER_OF,
// written by training): videos recently liked by the strongest $members co-members, ranked by
// how many of them liked it; approved, in a pool, not seen. No rows without communities.
// params: $user_id (string), $members (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})-[:MEMBER_OF]->(cm:Community)
CALL (u, cm) {
  MATCH (cm)<-[m:MEMBER_OF]-(o:User) WHERE o <> u
  WITH o ORDER BY m.score DESC LIMIT $members
  MATCH (o)-[l:LIKED]->(v:Video)
  RETURN v, count(*) AS n
}
WITH u, cm, v, sum(n) AS n
WHERE v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH cm, v, n ORDER BY n DESC, v.created_at DESC LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, [(v)-[:TAGGED]->(t:Tag) | t.id] AS tags,
       toFloat(n) AS score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(cm.label, cm.id) AS via
