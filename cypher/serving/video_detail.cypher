// A video's page: caption, tags, creator, audit status and reasons, pool (budget, served),
// counters, score, spillover and look-back marks. No row: unknown video.
// params: $video_id (string)
// returns: video_id, creator_id, caption, hashtags, tags, duration_ms, created_at, status,
//   reasons, pool, counters, score, spillover_boost, spillover_from, spillover_at, revived_at,
//   has_embedding
MATCH (v:Video {id: $video_id})
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
OPTIONAL MATCH (v)-[r:IN_POOL]->(p:Pool)
RETURN v.id AS video_id, c.id AS creator_id, v.caption AS caption, v.hashtags AS hashtags,
       COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags, v.duration_ms AS duration_ms,
       v.created_at AS created_at, v.status AS status, coalesce(v.reasons, []) AS reasons,
       CASE WHEN p IS NULL THEN null
            ELSE {id: p.id, budget: r.budget, served: r.served, since: r.since,
                  cycle: r.cycle} END AS pool,
       {impressions: coalesce(v.impressions, 0), views: coalesce(v.views, 0),
        completions: coalesce(v.completions, 0), likes: coalesce(v.likes, 0),
        comments: coalesce(v.comments, 0), shares: coalesce(v.shares, 0),
        follows: coalesce(v.follows, 0), skips: coalesce(v.skips, 0),
        watch_ms: coalesce(v.watch_ms, 0)} AS counters,
       v.score AS score, v.spillover_boost AS spillover_boost,
       v.spillover_from AS spillover_from, v.spillover_at AS spillover_at,
       v.revived_at AS revived_at, v.embedding IS NOT NULL AS has_embedding
