// Sizes the pool budgets of a loaded world to the simulated population (a world of a few
// hundred users cannot give a video 200-300 cold-start or 10,000+ boost impressions in a
// day): each budget in a pool named in $floors is multiplied by $scale and kept at least
// that pool's floor. The same scale factor as graphrec.sim.pool_budget_scale.
// params: $scale (float), $floors (map: pool id -> int)
// returns: videos (int)
MATCH (p:Pool)<-[r:IN_POOL]-(:Video)
WHERE p.id IN keys($floors) AND r.budget IS NOT NULL
WITH r, p, toInteger(round(r.budget * $scale)) AS budget
SET r.budget = CASE WHEN budget < $floors[p.id] THEN $floors[p.id] ELSE budget END
RETURN count(r) AS videos
