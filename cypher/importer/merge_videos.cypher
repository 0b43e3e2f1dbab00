// Creates or updates imported items as videos: caption, tags, backdated creation time, the
// counters aggregated from the imported history (skips included), the creator's POSTED link,
// TAGGED links, and the pool the import put the video in (a video is in at most one pool;
// one already pooled keeps its pool). Approved: an imported catalogue has been published.
// params: $rows (list of {id, creator, caption, hashtags, duration_ms, created_at, pool,
//   budget, impressions, views, completions, likes, comments, shares, follows, skips,
//   watch_ms})
// returns: videos (int)
UNWIND $rows AS row
MATCH (c:Creator {id: row.creator})
MERGE (v:Video {id: row.id})
SET v.caption = row.caption, v.hashtags = row.hashtags, v.duration_ms = row.duration_ms,
    v.created_at = row.created_at, v.status = 'approved', v.reasons = [],
    v.impressions = row.impressions, v.views = row.views, v.completions = row.completions,
    v.likes = row.likes, v.comments = row.comments, v.shares = row.shares,
    v.follows = row.follows, v.skips = row.skips, v.watch_ms = row.watch_ms
MERGE (c)-[:POSTED]->(v)
WITH v, row
CALL (v, row) {
  UNWIND row.hashtags AS tag
  MATCH (t:Tag {id: tag})
  MERGE (v)-[:TAGGED]->(t)
}
CALL (v, row) {
  WITH v, row WHERE NOT (v)-[:IN_POOL]->(:Pool)
  MATCH (p:Pool {id: row.pool})
  CREATE (v)-[:IN_POOL {since: row.created_at, budget: row.budget,
                        served: CASE WHEN row.budget > 0 THEN row.impressions ELSE 0 END,
                        cycle: 0}]->(p)
}
RETURN count(v) AS videos
