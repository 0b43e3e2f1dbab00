// The pool funnel: how many videos sit at each pool level now, and how often videos that
// left a pool were promoted (moved to a higher level) according to the MOVED history.
// A pool's promotion_rate is promoted_out / moved_out (null before any cycle has run).
// params: (none)
// defaults: (none)
// returns: level, pool, videos, budget, served, avg_score, moved_in, moved_out,
//   promoted_out, promotion_rate
MATCH (p:Pool)
CALL (p) {
  OPTIONAL MATCH (v:Video)-[ip:IN_POOL]->(p)
  RETURN count(v) AS videos, sum(ip.budget) AS budget, sum(ip.served) AS served,
         avg(v.score) AS avg_score
}
CALL (p) {
  OPTIONAL MATCH (:Video)-[m:MOVED]->(p)
  RETURN count(m) AS moved_in
}
CALL (p) {
  OPTIONAL MATCH (:Video)-[m:MOVED]->(next:Pool)
  WHERE m.from = p.id
  RETURN count(m) AS moved_out,
         count(CASE WHEN next.level > p.level THEN m END) AS promoted_out
}
RETURN p.level AS level, p.id AS pool, videos, budget, served, avg_score, moved_in, moved_out,
       promoted_out,
       CASE WHEN moved_out > 0 THEN toFloat(promoted_out) / moved_out END AS promotion_rate
ORDER BY level;
