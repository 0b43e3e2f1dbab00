// The traffic pools: level, budget range, how many videos each holds, budget and impressions
// served in total, and how many still have budget left.
// params: (none)
// returns: pool_id, level, name, budget_min, budget_max, videos, budget, served, under_budget
MATCH (p:Pool)
CALL (p) {
  OPTIONAL MATCH (v:Video)-[r:IN_POOL]->(p)
  RETURN count(v) AS videos, sum(coalesce(r.budget, 0)) AS budget,
         sum(coalesce(r.served, 0)) AS served,
         count(CASE WHEN r.budget > 0 AND r.served < r.budget THEN 1 END) AS under_budget
}
RETURN p.id AS pool_id, p.level AS level, p.name AS name, p.budget_min AS budget_min,
       p.budget_max AS budget_max, videos, budget, served, under_budget
ORDER BY p.level, p.id
