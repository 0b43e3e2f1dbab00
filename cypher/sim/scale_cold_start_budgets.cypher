// Sizes the cold-start budgets of a loaded world to the simulated population (a world of a
// few hundred users cannot give every new video 200-300 impressions in a day): each budget
// is multiplied by $scale, and kept at least $min.
// params: $scale (float), $min (int)
// returns: videos (int)
MATCH (:Pool {id: 'cold_start'})<-[r:IN_POOL]-(:Video)
WITH r, toInteger(round(r.budget * $scale)) AS budget
SET r.budget = CASE WHEN budget < $min THEN $min ELSE budget END
RETURN count(r) AS videos
