// Cold-start fairness: do new creators get their share of impressions? Creators who joined
// within $new_days of the reference time are "new", the others "established"; per cohort,
// the videos, impressions, impressions per video, cold-start budget served and the share of
// videos that reached a boost or trending pool. The reference time is $now, or when null
// the latest upload in the graph (generated worlds have their own fixed clock).
// params: $new_days (int), $now (int, epoch ms, or null for the latest upload)
// defaults: $new_days = 30, $now = null
// returns: cohort, creators, videos, impressions, impressions_per_video, views_per_impression,
//   cold_start_videos, cold_start_served, cold_start_budget, reached_boost_share
MATCH (v:Video)
WITH coalesce($now, max(v.created_at)) AS now
MATCH (c:Creator)
WITH c, CASE WHEN c.joined_at >= now - $new_days * 86400000 THEN 'new' ELSE 'established' END
     AS cohort
OPTIONAL MATCH (c)-[:POSTED]->(v:Video)
OPTIONAL MATCH (v)-[ip:IN_POOL]->(p:Pool)
WITH cohort, c, v, ip, p,
     EXISTS { (v)-[:MOVED]->(q:Pool) WHERE q.level >= 2 } OR p.level >= 2 AS reached
WITH cohort, count(DISTINCT c) AS creators, count(v) AS videos,
     sum(coalesce(v.impressions, 0)) AS impressions, sum(coalesce(v.views, 0)) AS views,
     count(CASE WHEN p.id = 'cold_start' THEN v END) AS cold_start_videos,
     sum(CASE WHEN p.id = 'cold_start' THEN ip.served ELSE 0 END) AS cold_start_served,
     sum(CASE WHEN p.id = 'cold_start' THEN ip.budget ELSE 0 END) AS cold_start_budget,
     count(CASE WHEN reached THEN v END) AS reached_boost
RETURN cohort, creators, videos, impressions,
       CASE WHEN videos > 0 THEN toFloat(impressions) / videos END AS impressions_per_video,
       CASE WHEN impressions > 0 THEN toFloat(views) / impressions END AS views_per_impression,
       cold_start_videos, cold_start_served, cold_start_budget,
       CASE WHEN videos > 0 THEN toFloat(reached_boost) / videos END AS reached_boost_share
ORDER BY cohort DESC;
