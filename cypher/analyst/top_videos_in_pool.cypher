// The top videos of one pool by score (the lifecycle's score; before a cycle has scored a
// video, its like count breaks the tie), with their engagement rates.
// params: $pool (string, a Pool id: review, cold_start, boost, trending, long_tail),
//   $limit (int)
// defaults: $pool = 'boost', $limit = 20
// returns: rank, video_id, creator_id, score, impressions, views, likes, view_rate,
//   completion_rate, like_rate, served, budget, tags
MATCH (v:Video)-[ip:IN_POOL]->(:Pool {id: $pool})
WITH v, ip
ORDER BY coalesce(v.score, -1.0) DESC, v.likes DESC, v.id
LIMIT $limit
WITH collect({v: v, ip: ip}) AS top
UNWIND range(0, size(top) - 1) AS i
WITH i + 1 AS rank, top[i].v AS v, top[i].ip AS ip
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
RETURN rank, v.id AS video_id, c.id AS creator_id, v.score AS score,
       v.impressions AS impressions, v.views AS views, v.likes AS likes,
       CASE WHEN v.impressions > 0 THEN toFloat(v.views) / v.impressions END AS view_rate,
       CASE WHEN v.views > 0 THEN toFloat(v.completions) / v.views END AS completion_rate,
       CASE WHEN v.views > 0 THEN toFloat(v.likes) / v.views END AS like_rate,
       ip.served AS served, ip.budget AS budget, v.hashtags AS tags
ORDER BY rank;
