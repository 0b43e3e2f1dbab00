// A creator's trajectory: each of their videos in upload order, the pool it is in now, the
// highest pool level it ever reached (now or in the MOVED history), how often it moved, the
// spillover boost it received, and the creator's vertical label (their dominant tag).
// params: $creator_id (string)
// defaults: $creator_id = 'c000000'
// returns: creator_id, vertical, vertical_share, account_score, video_id, created_at, status,
//   current_pool, highest_pool, moves, score, impressions, likes, spillover_boost,
//   spillover_from
MATCH (c:Creator {id: $creator_id})
OPTIONAL MATCH (c)-[vl:VERTICAL]->(label:Tag)
WITH c, label, vl ORDER BY vl.share DESC LIMIT 1
MATCH (c)-[:POSTED]->(v:Video)
OPTIONAL MATCH (v)-[:IN_POOL]->(now:Pool)
CALL (v, now) {
  OPTIONAL MATCH (v)-[:MOVED]->(was:Pool)
  WITH now, collect(was) AS moved
  RETURN reduce(best = now, p IN moved |
           CASE WHEN best IS NULL OR p.level > best.level THEN p ELSE best END).id AS highest_pool
}
CALL (v) {
  OPTIONAL MATCH (v)-[m:MOVED]->(:Pool)
  RETURN count(m) AS moves
}
RETURN c.id AS creator_id, label.id AS vertical, vl.share AS vertical_share,
       c.account_score AS account_score, v.id AS video_id, v.created_at AS created_at,
       v.status AS status, now.id AS current_pool, highest_pool, moves, v.score AS score,
       v.impressions AS impressions, v.likes AS likes, v.spillover_boost AS spillover_boost,
       v.spillover_from AS spillover_from
ORDER BY created_at, video_id;
