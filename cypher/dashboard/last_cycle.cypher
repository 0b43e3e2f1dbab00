// The dashboard's last pool cycle: the newest finished cycle, its counts per transition
// (the JSON the cycle wrote) and up to $limit of its moves (video, from pool, to pool, why,
// the score it was decided on), highest score first. No row: no cycle has finished yet.
// params: $limit (int, how many moves)
// returns: cycle, started_at, finished_at, status, counts_json, moved, moves (list of
//   {video_id, from, to, reason, score})
MATCH (c:Cycle)
WHERE c.finished_at IS NOT NULL
WITH c ORDER BY c.id DESC LIMIT 1
CALL (c) {
  OPTIONAL MATCH (v:Video)-[m:MOVED {cycle: c.id}]->(to:Pool)
  RETURN count(m) AS moved
}
CALL (c) {
  OPTIONAL MATCH (v:Video)-[m:MOVED {cycle: c.id}]->(to:Pool)
  WITH v, m, to WHERE m IS NOT NULL
  ORDER BY coalesce(m.score, -1.0) DESC, v.id
  LIMIT $limit
  RETURN collect({video_id: v.id, from: m.from, to: to.id, reason: m.reason,
                  score: m.score}) AS moves
}
RETURN c.id AS cycle, c.started_at AS started_at, c.finished_at AS finished_at,
       c.status AS status, c.counts_json AS counts_json, moved, moves
