// The dashboard's pool page: the top videos of one pool by score (before a cycle has scored
// a video, its likes break the tie) with their creator, engagement rates and budget use.
// params: $pool (string, a Pool id: boost, trending, cold_start, long_tail), $limit (int)
// returns: video_id, creator_id, score, impressions, views, likes, shares, view_rate,
//   completion_rate, like_rate, share_rate, served, budget, since, tags
MATCH (v:Video)-[ip:IN_POOL]->(:Pool {id: $pool})
WITH v, ip
ORDER BY coalesce(v.score, -1.0) DESC, coalesce(v.likes, 0) DESC, v.id
LIMIT $limit
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
WITH v, ip, c, coalesce(v.impressions, 0) AS imp, coalesce(v.views, 0) AS views
RETURN v.id AS video_id, c.id AS creator_id, v.score AS score, imp AS impressions,
       views, coalesce(v.likes, 0) AS likes, coalesce(v.shares, 0) AS shares,
       CASE WHEN imp > 0 THEN toFloat(views) / imp END AS view_rate,
       CASE WHEN views > 0 THEN toFloat(coalesce(v.completions, 0)) / views END
         AS completion_rate,
       CASE WHEN views > 0 THEN toFloat(coalesce(v.likes, 0)) / views END AS like_rate,
       CASE WHEN views > 0 THEN toFloat(coalesce(v.shares, 0)) / views END AS share_rate,
       coalesce(ip.served, 0) AS served, coalesce(ip.budget, 0) AS budget,
       ip.since AS since, coalesce(v.hashtags, []) AS tags
ORDER BY coalesce(score, -1.0) DESC, likes DESC, video_id
