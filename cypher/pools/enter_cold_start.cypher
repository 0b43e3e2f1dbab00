// Puts approved videos that are in no pool into the cold_start pool, each with a budget drawn
// uniformly from $budget_min..$budget_max (the same range for every creator: a newcomer and an
// influencer start from the same place). A video already in a pool is left where it is.
// $draws (map video id -> [0, 1)) fixes a video's draw; absent: random.
// params: $video_ids (list of string), $budget_min (int), $budget_max (int), $at (int, epoch ms),
//   $draws (map)
// returns: video_id, budget
UNWIND $video_ids AS vid
MATCH (v:Video {id: vid})
WHERE v.status = 'approved' AND NOT EXISTS { (v)-[:IN_POOL]->(:Pool) }
MATCH (p:Pool {id: 'cold_start'})
CREATE (v)-[r:IN_POOL {since: $at, served: 0, cycle: 0,
                        budget: $budget_min + toInteger(floor(coalesce($draws[vid], rand()) * ($budget_max - $budget_min + 1)))}]->(p)
CREATE (v)-[:MOVED {cycle: 0, at: $at, from: 'review', reason: 'approved', score: null}]->(p)
RETURN v.id AS video_id, r.budget AS budget
