// Look-back: re-mines the long tail for overlooked high-quality videos and sends them back to
// the cold_start pool (reason 'look_back', once per video: revived_at). A candidate has sat in
// the long tail at least $min_age_ms, is approved, never revived, and either
//   - overlooked: strong rates (score >= $min_score, the cycle's score formula) on little
//     exposure ($min_impressions <= impressions <= $max_impressions), or
//   - its creator is drawing traffic now: another of their videos was promoted (to boost or
//     trending) within $creator_window_ms, and this one scores >= $creator_min_score.
// Best scores first, at most $limit revivals per look-back period ($period_ms): revivals
// already made within the period count, so running the cycle again revives nothing more.
// params: $now (int, epoch ms), $min_age_ms (int), $min_impressions (int),
//   $max_impressions (int), $min_score (float), $creator_window_ms (int),
//   $creator_min_score (float), $weights (map, see decide_promotions), $limit (int),
//   $period_ms (int)
// returns: video_id, from_pool, to_pool, reason, score, why
CALL () {
  OPTIONAL MATCH (o:Video)-[m:MOVED]->(:Pool)
  WHERE m.at >= $now - $creator_window_ms AND m.reason IN ['promoted', 'trending']
  OPTIONAL MATCH (hc:Creator)-[:POSTED]->(o)
  RETURN collect(DISTINCT hc.id) AS hot, collect(DISTINCT o.id) AS hits
}
MATCH (:Pool {id: 'long_tail'})<-[r:IN_POOL]-(v:Video)
WHERE r.since <= $now - $min_age_ms AND v.status = 'approved' AND v.revived_at IS NULL
WITH hot, hits, v,
     ($weights.view * coalesce(v.views, 0) + $weights.completion * coalesce(v.completions, 0)
      + $weights.like * coalesce(v.likes, 0) + $weights.comment * coalesce(v.comments, 0)
      + $weights.share * coalesce(v.shares, 0) + $weights.follow * coalesce(v.follows, 0))
     / (coalesce(v.impressions, 0) + $weights.prior) AS engagement
// an account score is at most 1: skip the creator lookup for videos that cannot qualify
WHERE engagement + $weights.account >= CASE WHEN $creator_min_score < $min_score
                                             THEN $creator_min_score ELSE $min_score END
MATCH (c:Creator)-[:POSTED]->(v)
WITH hot, hits, v, c, engagement + $weights.account * coalesce(c.account_score, 0.5) AS score
WHERE score >= $creator_min_score OR score >= $min_score
WITH v, score,
     score >= $min_score AND $min_impressions <= coalesce(v.impressions, 0) <= $max_impressions
       AS overlooked,
     score >= $creator_min_score AND c.id IN hot AND NOT v.id IN hits AS hot_creator
WHERE overlooked OR hot_creator
WITH v, score, overlooked ORDER BY score DESC, v.created_at ASC, v.id ASC
WITH collect({video_id: v.id, score: score, overlooked: overlooked}) AS ranked
CALL () {
  MATCH (x:Video) WHERE x.revived_at >= $now - $period_ms
  RETURN count(x) AS recent
}
UNWIND ranked[0..CASE WHEN $limit > recent THEN $limit - recent ELSE 0 END] AS row
RETURN row.video_id AS video_id, 'long_tail' AS from_pool, 'cold_start' AS to_pool,
       'look_back' AS reason, row.score AS score,
       CASE WHEN row.overlooked THEN 'overlooked' ELSE 'creator drawing traffic' END AS why
