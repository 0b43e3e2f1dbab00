// Feed source "lookback" (shared by every user): older videos the look-back rule revived
// (Video.revived_at, written by the pool cycle), newest revival first, approved, in a pool.
// params: $since (int, epoch ms), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (v:Video)
WHERE v.revived_at >= $since
WITH v ORDER BY v.revived_at DESC, v.id
WHERE v.status = 'approved' AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH v LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       1.0 AS score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       'revived ' + toString(v.revived_at) AS via
