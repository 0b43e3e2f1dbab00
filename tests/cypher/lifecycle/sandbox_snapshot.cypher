// Everything the pool cycle may change, as comparable rows (tests: a second cycle on the same
// state must change nothing).
// params: (none)
// returns: video_id, pool, budget, served, since, score, revived_at, spillover_boost,
//   spillover_from, spilled_at, moves, amplified, verticals
MATCH (v:Video)
OPTIONAL MATCH (v)-[r:IN_POOL]->(p:Pool)
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, p.id AS pool, r.budget AS budget, r.served AS served,
       r.since AS since, v.score AS score, v.revived_at AS revived_at,
       v.spillover_boost AS spillover_boost, v.spillover_from AS spillover_from,
       v.spilled_at AS spilled_at, COUNT { (v)-[:MOVED]->() } AS moves,
       COUNT { (v)-[:AMPLIFIED_IN]->() } AS amplified,
       [(c)-[x:VERTICAL]->(t:Tag) | [t.id, x.share, x.since]] AS verticals
ORDER BY video_id
