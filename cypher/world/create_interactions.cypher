// Writes one batch of the interaction history, at most once: the batch's LoadBatch marker is
// created in the same transaction, so a rerun or a resumed load skips batches already done.
// $type is checked against an allow-list (SAW, VIEWED, COMPLETED, LIKED, COMMENTED, SHARED).
// params: $batch_id (string), $type (string), $rows (list of [user_id, video_id, at, watch_ms])
// returns: created (int)
OPTIONAL MATCH (done:LoadBatch {id: $batch_id})
WITH done WHERE done IS NULL
CREATE (:LoadBatch {id: $batch_id, rows: size($rows), at: timestamp()})
WITH 1 AS one
UNWIND $rows AS row
MATCH (u:User {id: row[0]})
MATCH (v:Video {id: row[1]})
CREATE (u)-[r:$($type)]->(v)
SET r.at = row[2], r.watch_ms = CASE WHEN row[3] > 0 THEN row[3] END
RETURN count(r) AS created
