// Writes videos exactly as given (tests, demos, benchmarks): counters, status, pool entry with
// its since/budget/served, tags (created in category 'other' when new). Not used by uploads.
// params: $rows (list of {id, creator, caption, hashtags, created_at, status, reasons, pool,
//   since, budget, served, impressions, views, completions, likes, comments, shares, follows})
// returns: videos (int)
UNWIND $rows AS row
MATCH (c:Creator {id: row.creator})
MERGE (v:Video {id: row.id})
SET v.caption = row.caption, v.hashtags = row.hashtags, v.duration_ms = 20000,
    v.created_at = row.created_at, v.status = row.status, v.reasons = row.reasons,
    v.impressions = row.impressions, v.views = row.views, v.completions = row.completions,
    v.likes = row.likes, v.comments = row.comments, v.shares = row.shares,
    v.follows = row.follows, v.skips = 0, v.watch_ms = 0
MERGE (c)-[:POSTED]->(v)
WITH v, row
CALL (v, row) {
  UNWIND row.hashtags AS tag
  MERGE (t:Tag {id: tag})
  ON CREATE SET t.created_at = row.created_at
  WITH v, t
  CALL (t) {
    WITH t WHERE NOT EXISTS { (t)-[:IN]->(:Category) }
    MERGE (o:Category {id: 'other'}) ON CREATE SET o.name = 'other'
    MERGE (t)-[:IN]->(o)
  }
  MERGE (v)-[:TAGGED]->(t)
}
CALL (v, row) {
  WITH v, row WHERE row.pool IS NOT NULL
  MATCH (p:Pool {id: row.pool})
  OPTIONAL MATCH (v)-[old:IN_POOL]->(:Pool)
  DELETE old
  CREATE (v)-[:IN_POOL {since: row.since, budget: row.budget, served: row.served, cycle: 0}]->(p)
}
RETURN count(v) AS videos
