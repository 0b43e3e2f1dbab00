// Records a past pool move (tests and demos: history before the first cycle).
// params: $rows (list of {video_id, from_pool, to_pool, reason, at})
// returns: moved (int)
UNWIND $rows AS row
MATCH (v:Video {id: row.video_id}), (p:Pool {id: row.to_pool})
CREATE (v)-[m:MOVED {cycle: 0, at: row.at, from: row.from_pool, reason: row.reason}]->(p)
RETURN count(m) AS moved
