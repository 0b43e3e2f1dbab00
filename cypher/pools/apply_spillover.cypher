// Applies spillover for viral videos (one batch of decide_spillover's rows): the viral video
// is marked spilled_at (so it spills once); each older approved video of the same creator
// gets spillover_boost $boost (kept when already higher), spillover_from (the viral video)
// and spillover_at $now. The feed favours them, most of all for users who engaged with the
// viral video (pools/spillover_candidates).
// params: $video_ids (list of string), $boost (float), $now (int, epoch ms)
// returns: video_id, raised
UNWIND $video_ids AS vid
MATCH (viral:Video {id: vid})
WHERE viral.spilled_at IS NULL
MATCH (c:Creator)-[:POSTED]->(viral)
SET viral.spilled_at = $now
WITH viral, c
CALL (viral, c) {
  OPTIONAL MATCH (c)-[:POSTED]->(o:Video)
  WHERE o.status = 'approved' AND o.created_at < viral.created_at
    AND coalesce(o.spillover_boost, 0.0) <= $boost
  SET o.spillover_boost = $boost, o.spillover_from = viral.id, o.spillover_at = $now
  RETURN count(o) AS raised
}
RETURN viral.id AS video_id, raised
