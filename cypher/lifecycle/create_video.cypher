// Stores an audited upload in one transaction. The video links to its creator and its tags
// (new tags are created in their category, a new category too, e.g. 'other'). The audit's
// verdict decides where it goes: approved -> the cold_start pool with a budget drawn uniformly
// from $budget_min..$budget_max (the same for every creator; $draw in [0, 1) fixes the draw,
// null: random) and a MOVED from 'review';
// rejected -> status 'rejected' with its reasons, in no pool (never served), and the
// creator's account score drops by $penalty (rejections counted on the creator).
// A video id that exists already fails on the unique constraint (nothing stored).
// params: $video (map: id, creator, caption, caption_key, hashtags, duration_ms, created_at,
//   status, reasons), $tags (list of {tag, category, source}), $budget_min (int),
//   $budget_max (int), $penalty (float), $at (int, epoch ms)
// returns: video_id, status, reasons, pool, budget, tags
MATCH (c:Creator {id: $video.creator})
CREATE (v:Video {id: $video.id})
SET v.caption = $video.caption, v.caption_key = $video.caption_key,
    v.hashtags = $video.hashtags, v.duration_ms = $video.duration_ms,
    v.created_at = $video.created_at, v.status = $video.status, v.reasons = $video.reasons,
    v.impressions = 0, v.views = 0, v.completions = 0, v.likes = 0, v.comments = 0,
    v.shares = 0, v.follows = 0, v.skips = 0, v.watch_ms = 0
CREATE (c)-[:POSTED]->(v)
WITH c, v
CALL (v) {
  UNWIND $tags AS row
  MERGE (cat:Category {id: row.category})
  ON CREATE SET cat.name = row.category
  MERGE (t:Tag {id: row.tag})
  ON CREATE SET t.created_at = $at
  WITH v, t, cat
  CALL (t, cat) {
    WITH t, cat WHERE NOT EXISTS { (t)-[:IN]->(:Category) }
    CREATE (t)-[:IN]->(cat)
  }
  MERGE (v)-[:TAGGED]->(t)
  RETURN collect(t.id) AS tags
}
OPTIONAL CALL (v) {
  WITH v WHERE v.status = 'approved'
  MATCH (p:Pool {id: 'cold_start'})
  CREATE (v)-[r:IN_POOL {since: $at, served: 0, cycle: 0,
                          budget: $budget_min + toInteger(floor(coalesce($draw, rand()) * ($budget_max - $budget_min + 1)))}]->(p)
  CREATE (v)-[:MOVED {cycle: 0, at: $at, from: 'review', reason: 'approved'}]->(p)
  RETURN p.id AS pool, r.budget AS budget
}
OPTIONAL CALL (c, v) {
  WITH c, v WHERE v.status = 'rejected'
  SET c.account_score = CASE WHEN coalesce(c.account_score, 0.5) - $penalty < 0 THEN 0.0
                             ELSE coalesce(c.account_score, 0.5) - $penalty END,
      c.rejections = coalesce(c.rejections, 0) + 1
  RETURN c.account_score AS account_score
}
RETURN v.id AS video_id, v.status AS status, v.reasons AS reasons, pool, budget, tags
