// The graph writer's statement for the counted kinds (view, complete, like, comment, share,
// skip): one relationship per event, at most once each, as serving/ingest_events stores them
// but with static relationship types (one branch per type: the planner seeks the type's
// event_id index and creates with a known type token, where $(row.type) resolved it per row)
// and without the video counters: serving/count_events adds those once per video for the
// accepted rows, in the same transaction. Impressions and follows (a served SAW to stamp, a
// MERGE) stay with serving/ingest_events.
// A row whose user or video is unknown, or whose id is already stored under its own type (a
// replayed stream entry carries its kind; Redis refused a repeat under another kind at
// append), is stored nowhere and comes back with that status.
// params: $rows (list of {i, event_id, user_id, video_id, type, at, watch_ms}; type one of
//   VIEWED, COMPLETED, LIKED, COMMENTED, SHARED, SKIPPED)
// returns: one row per status (accepted | duplicate | unknown user | unknown video): status,
//   rows (the i of each row with it)
UNWIND $rows AS row
OPTIONAL MATCH (u:User {id: row.user_id})
OPTIONAL MATCH (v:Video {id: row.video_id})
WITH row, u, v,
     CASE
       WHEN u IS NULL THEN 'unknown user'
       WHEN v IS NULL THEN 'unknown video'
       WHEN CASE row.type
         WHEN 'VIEWED' THEN EXISTS { ()-[:VIEWED {event_id: row.event_id}]->() }
         WHEN 'COMPLETED' THEN EXISTS { ()-[:COMPLETED {event_id: row.event_id}]->() }
         WHEN 'LIKED' THEN EXISTS { ()-[:LIKED {event_id: row.event_id}]->() }
         WHEN 'COMMENTED' THEN EXISTS { ()-[:COMMENTED {event_id: row.event_id}]->() }
         WHEN 'SHARED' THEN EXISTS { ()-[:SHARED {event_id: row.event_id}]->() }
         ELSE EXISTS { ()-[:SKIPPED {event_id: row.event_id}]->() } END THEN 'duplicate'
       ELSE 'accepted'
     END AS status
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'VIEWED'
  CREATE (u)-[r:VIEWED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'COMPLETED'
  CREATE (u)-[r:COMPLETED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'LIKED'
  CREATE (u)-[r:LIKED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'COMMENTED'
  CREATE (u)-[r:COMMENTED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'SHARED'
  CREATE (u)-[r:SHARED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
CALL (row, u, v, status) {
  WITH row, u, v WHERE status = 'accepted' AND row.type = 'SKIPPED'
  CREATE (u)-[r:SKIPPED {event_id: row.event_id, at: row.at}]->(v)
  SET r.watch_ms = row.watch_ms
}
RETURN status, collect(row.i) AS rows
