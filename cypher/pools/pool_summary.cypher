// Each traffic pool now: videos in it, budget and impressions served, and the latest cycle.
// params: (none)
// returns: pool, level, videos, budget, served
MATCH (p:Pool)
OPTIONAL MATCH (p)<-[r:IN_POOL]-(:Video)
RETURN p.id AS pool, p.level AS level, count(r) AS videos,
       sum(coalesce(r.budget, 0)) AS budget, sum(coalesce(r.served, 0)) AS served
ORDER BY level
