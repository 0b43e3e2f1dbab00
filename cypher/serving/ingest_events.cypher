// Stores one batch of user events, at most once each: every event becomes one relationship
// carrying its client event id (unique per type, cypher/schema/*_event_id_unique), and the
// video's counter moves with it. A row whose user, video or creator is unknown, or whose id
// is already stored (under any type), is stored nowhere and comes back with that status.
// An impression stamps the SAW the feed wrote when serving that video (no second count);
// without one it writes SAW and counts it. A follow MERGEs (u)-[:FOLLOWS]->(creator): the
// creator is creator_id or the video's creator; a second follow changes nothing.
// $rows hold the relationship type (SAW, VIEWED, COMPLETED, LIKED, COMMENTED, SHARED, SKIPPED,
// FOLLOWS, already held to that allow-list) and the counter property it moves.
// $any_type true: an id stored under any of those types is a duplicate (the events API without
// the spine); false: only under the row's own type (the graph writer: a replayed stream entry
// carries its kind, and Redis refused a repeat under another kind at append): one index seek
// a row instead of eight. The video's creator is looked up for a follow only.
// params: $rows (list of {i, event_id, user_id, video_id, creator_id, type, counter, at,
//   watch_ms}), $any_type (boolean)
// returns: one row per status (accepted | duplicate | unknown user | unknown video | unknown
//   creator): status, rows (the i of each row with it; one record per status, not per row:
//   the driver's cost per record is what a 40,000-event batch would pay)
UNWIND $rows AS row
OPTIONAL MATCH (u:User {id: row.user_id})
OPTIONAL MATCH (v:Video {id: row.video_id})
OPTIONAL MATCH (c:Creator {id: row.creator_id})
WITH row, u, v, CASE WHEN row.type = 'FOLLOWS' AND c IS NULL
                    THEN COLLECT { MATCH (vc:Creator)-[:POSTED]->(v) RETURN vc LIMIT 1 }[0]
                    ELSE c END AS fc
WITH row, u, v, fc,
     CASE
       WHEN u IS NULL THEN 'unknown user'
       WHEN row.video_id IS NOT NULL AND v IS NULL THEN 'unknown video'
       WHEN row.creator_id IS NOT NULL AND fc IS NULL THEN 'unknown creator'
       WHEN row.type = 'FOLLOWS' AND fc IS NULL THEN 'unknown creator'
       WHEN $any_type AND (EXISTS { ()-[:SAW {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:VIEWED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:COMPLETED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:LIKED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:COMMENTED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:SHARED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:SKIPPED {event_id: row.event_id}]->() }
         OR EXISTS { ()-[:FOLLOWS {event_id: row.event_id}]->() }) THEN 'duplicate'
       WHEN NOT $any_type AND CASE row.type
         WHEN 'SAW' THEN EXISTS { ()-[:SAW {event_id: row.event_id}]->() }
         WHEN 'VIEWED' THEN EXISTS { ()-[:VIEWED {event_id: row.event_id}]->() }
         WHEN 'COMPLETED' THEN EXISTS { ()-[:COMPLETED {event_id: row.event_id}]->() }
         WHEN 'LIKED' THEN EXISTS { ()-[:LIKED {event_id: row.event_id}]->() }
         WHEN 'COMMENTED' THEN EXISTS { ()-[:COMMENTED {event_id: row.event_id}]->() }
         WHEN 'SHARED' THEN EXISTS { ()-[:SHARED {event_id: row.event_id}]->() }
         WHEN 'SKIPPED' THEN EXISTS { ()-[:SKIPPED {event_id: row.event_id}]->() }
         ELSE EXISTS { ()-[:FOLLOWS {event_id: row.event_id}]->() } END THEN 'duplicate'
       ELSE 'accepted'
     END AS status
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'SAW'
  OPTIONAL MATCH (u)-[s:SAW]->(v) WHERE s.event_id IS NULL
  WITH row, u, v, head(collect(s)) AS served
  FOREACH (s IN CASE WHEN served IS NULL THEN [] ELSE [served] END |
    SET s.event_id = row.event_id)
  FOREACH (_ IN CASE WHEN served IS NULL THEN [1] ELSE [] END |
    CREATE (u)-[:SAW {event_id: row.event_id, at: row.at}]->(v)
    SET v.impressions = coalesce(v.impressions, 0) + 1)
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type <> 'SAW' AND row.type <> 'FOLLOWS'
  CREATE (u)-[r:$(row.type) {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms,
      v[row.counter] = coalesce(v[row.counter], 0) + 1,
      v.watch_ms = coalesce(v.watch_ms, 0) + coalesce(row.watch_ms, 0)
}
CALL (row, u, v, fc, status) {
  WITH row, u, v, fc WHERE status = 'accepted' AND row.type = 'FOLLOWS'
  MERGE (u)-[f:FOLLOWS]->(fc)
  ON CREATE SET f.at = row.at, f.video = row.video_id, f.event_id = row.event_id,
                fc.followers = coalesce(fc.followers, 0) + 1,
                v.follows = coalesce(v.follows, 0) + 1
}
RETURN status, collect(row.i) AS rows
