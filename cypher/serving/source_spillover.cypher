// Feed source "spillover" (shared by every user): videos lifted by their creator's recent hit
// (Video.spillover_boost, written by the pool cycle), newest lift first, approved, in a pool.
// params: $since (int, epoch ms), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (v:Video)
WHERE v.spillover_at >= $since
WITH v ORDER BY v.spillover_at DESC, v.id
WHERE v.status = 'approved' AND coalesce(v.spillover_boost, 0) > 0
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH v LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       toFloat(v.spillover_boost) AS score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(v.spillover_from, c.id) AS via
