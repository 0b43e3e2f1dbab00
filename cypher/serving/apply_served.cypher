// Applies impressions a feed served (read from the event stream by the graph writer), at most
// once each: (u)-[:SAW {served_id, at, pos, x}]->(v) (x: what the ranker saw, list<float>,
// absent for an entry logged without it; pos: its place in the entry), v.impressions + 1
// and, in a budgeted pool, IN_POOL.served + 1. Budgets were already granted atomically in
// Redis when the feed was served; this keeps the graph's counters (the system of record) in
// step. A row whose served_id is stored, or whose user or video is unknown, changes nothing.
// Callers sort rows by video id (one lock order for every writer) and send each served_id
// once (the planner checks every row's served_id before the first CREATE: a repeat within
// $rows would break saw_served_id_unique and fail the batch). Moving the counters once per
// video instead of once per row was measured and not kept (docs/serving.md).
// params: $rows (list of {served_id, user_id, video_id, at, pos, x})
// returns: applied (int)
UNWIND $rows AS row
MATCH (v:Video {id: row.video_id})
MATCH (u:User {id: row.user_id})
WITH row, u, v
WHERE NOT EXISTS { ()-[:SAW {served_id: row.served_id}]->() }
CREATE (u)-[:SAW {served_id: row.served_id, at: row.at, pos: row.pos, x: row.x}]->(v)
SET v.impressions = coalesce(v.impressions, 0) + 1
WITH row, v
OPTIONAL MATCH (v)-[r:IN_POOL]->(:Pool)
FOREACH (x IN CASE WHEN r IS NOT NULL AND coalesce(r.budget, 0) > 0 THEN [r] ELSE [] END |
  SET x.served = coalesce(x.served, 0) + 1)
RETURN count(*) AS applied
