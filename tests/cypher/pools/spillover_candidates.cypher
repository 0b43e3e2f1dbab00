// Creator-page spillover for a feed: older videos of creators whose video went viral
// (Video.spillover_boost, from the pool cycle), spilled at or after $since, approved, not
// seen. Users who engaged with the viral video get its creator's older videos first (score
// doubled); others still get them, newest spillover first.
// params: $user_id (string), $since (int, epoch ms), $limit (int)
// returns: video_id, creator_id, via, score
OPTIONAL MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (v:Video) WHERE v.spillover_at >= $since
  WITH v ORDER BY v.spillover_at DESC LIMIT 500
  RETURN v
}
WITH u, v
WHERE v.status = 'approved' AND coalesce(v.spillover_boost, 0.0) > 0
  AND (u IS NULL OR NOT EXISTS { (u)-[:SAW]->(v) })
OPTIONAL MATCH (hit:Video {id: v.spillover_from})
WITH u, v, hit,
     u IS NOT NULL AND hit IS NOT NULL
       AND EXISTS { (u)-[:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(hit) } AS engaged
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id,
       CASE WHEN engaged THEN 'you watched ' ELSE 'spillover from ' END + coalesce(hit.id, '?')
         AS via,
       v.spillover_boost * CASE WHEN engaged THEN 2.0 ELSE 1.0 END AS score
ORDER BY score DESC, v.spillover_at DESC, video_id ASC
LIMIT $limit
