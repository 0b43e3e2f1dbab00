// Feed source "community" (shared by the members of one community): its amplified winners,
// the videos most liked by its $members strongest members (MEMBER_OF score, written by
// training), approved, in a pool. The feed drops each member's own seen videos.
// params: $community_id (string), $members (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (cm:Community {id: $community_id})
CALL (cm) {
  MATCH (cm)<-[m:MEMBER_OF]-(o:User)
  WITH o ORDER BY m.score DESC, o.id LIMIT $members
  MATCH (o)-[:LIKED]->(v:Video)
  RETURN v, count(*) AS n
}
WITH cm, v, n
WHERE v.status = 'approved' AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH cm, v, n ORDER BY n DESC, v.created_at DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       toFloat(n) AS score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(cm.label, cm.id) AS via
