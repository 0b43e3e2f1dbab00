// Writes one batch of the interaction history, at most once: the batch's LoadBatch marker is
// created in the same transaction, so a rerun or a resumed load skips batches already done.
// Rows are grouped by user, so each user is looked up once per batch. The relationship type
// of each item is checked against an allow-list before it is sent (SAW, VIEWED, COMPLETED,
// LIKED, COMMENTED, SHARED).
// params: $batch_id (string), $rows (list of {user: string, items: list of [video_id, type, at, watch_ms]})
// returns: type, created (int); no rows when the batch was already loaded
OPTIONAL MATCH (done:LoadBatch {id: $batch_id})
WITH done WHERE done IS NULL
CREATE (:LoadBatch {id: $batch_id, rows: size($rows), at: timestamp()})
WITH 1 AS one
UNWIND $rows AS row
MATCH (u:User {id: row.user})
UNWIND row.items AS item
MATCH (v:Video {id: item[0]})
CREATE (u)-[r:$(item[1])]->(v)
SET r.at = item[2], r.watch_ms = CASE WHEN item[3] > 0 THEN item[3] END
RETURN type(r) AS type, count(r) AS created
