// Moves videos between pools (one batch of the cycle's decisions). A row applies only while
// the video is still in its from_pool (a rerun or a concurrent cycle changes nothing twice).
// The new IN_POOL gets a budget drawn uniformly from the row's budget_min..budget_max (0: no
// budget; row.draw in [0, 1) fixes the draw, null: random), served 0, since $now; a MOVED {cycle, at, from, reason, score} records the move;
// v.score keeps the score it was decided on; a look_back move sets v.revived_at.
// params: $rows (list of {video_id, from_pool, to_pool, reason, score, budget_min,
//   budget_max, draw}), $cycle (int), $now (int, epoch ms)
// returns: video_id, from_pool, to_pool, reason, budget
UNWIND $rows AS row
MATCH (v:Video {id: row.video_id})-[old:IN_POOL]->(:Pool {id: row.from_pool})
MATCH (to:Pool {id: row.to_pool})
DELETE old
CREATE (v)-[ip:IN_POOL {since: $now, cycle: $cycle, served: 0,
  budget: CASE WHEN row.budget_max > 0
               THEN row.budget_min + toInteger(floor(coalesce(row.draw, rand()) * (row.budget_max - row.budget_min + 1)))
               ELSE 0 END}]->(to)
CREATE (v)-[:MOVED {cycle: $cycle, at: $now, from: row.from_pool, reason: row.reason,
                    score: row.score}]->(to)
SET v.score = coalesce(row.score, v.score),
    v.revived_at = CASE WHEN row.reason = 'look_back' THEN $now ELSE v.revived_at END
RETURN v.id AS video_id, row.from_pool AS from_pool, row.to_pool AS to_pool,
       row.reason AS reason, ip.budget AS budget
