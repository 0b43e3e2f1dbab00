// The dashboard's pool funnel: for each traffic pool (review, cold start, boost, trending,
// long tail) how many videos sit in it now, their budgets and impressions served, how many
// still have budget left, and their average score. The long tail (level below zero) last.
// params: (none)
// returns: level, pool, name, videos, budget, served, under_budget, avg_score
MATCH (p:Pool)
CALL (p) {
  OPTIONAL MATCH (v:Video)-[ip:IN_POOL]->(p)
  RETURN count(v) AS videos, sum(coalesce(ip.budget, 0)) AS budget,
         sum(coalesce(ip.served, 0)) AS served,
         count(CASE WHEN ip.budget > 0 AND ip.served < ip.budget THEN 1 END) AS under_budget,
         avg(v.score) AS avg_score
}
RETURN p.level AS level, p.id AS pool, p.name AS name, videos, budget, served, under_budget,
       avg_score
ORDER BY CASE WHEN level < 0 THEN 1 ELSE 0 END, level, pool
