// Creates or updates videos with their counters, links each to its creator and tags, and
// puts approved ones in their pool (a video is in at most one pool).
// params: $rows (list of {id, creator, caption, hashtags, duration_ms, created_at, status,
//   reasons, pool, budget, impressions, views, completions, likes, comments, shares, follows,
//   watch_ms})
// returns: videos (int)
UNWIND $rows AS row
MATCH (c:Creator {id: row.creator})
MERGE (v:Video {id: row.id})
SET v.caption = row.caption, v.hashtags = row.hashtags, v.duration_ms = row.duration_ms,
    v.created_at = row.created_at, v.status = row.status, v.reasons = row.reasons,
    v.impressions = row.impressions, v.views = row.views, v.completions = row.completions,
    v.likes = row.likes, v.comments = row.comments, v.shares = row.shares,
    v.follows = row.follows, v.watch_ms = row.watch_ms, v.skips = coalesce(v.skips, 0)
MERGE (c)-[:POSTED]->(v)
WITH v, row
CALL (v, row) {
  UNWIND row.hashtags AS tag
  MATCH (t:Tag {id: tag})
  MERGE (v)-[:TAGGED]->(t)
}
CALL (v, row) {
  WITH v, row WHERE row.pool IS NOT NULL AND NOT (v)-[:IN_POOL]->(:Pool)
  MATCH (p:Pool {id: row.pool})
  CREATE (v)-[:IN_POOL {since: row.created_at, budget: row.budget,
                        served: CASE WHEN row.budget > 0 THEN row.impressions ELSE 0 END,
                        cycle: 0}]->(p)
}
RETURN count(v) AS videos
