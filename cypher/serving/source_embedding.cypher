// Feed source "embedding": the videos nearest the user's embedding through the video_embedding
// vector index (cosine), approved, not seen, with creator and tags. The online embedding
// (moved by events) is used when $realtime, else only the learned one. No rows without one.
// params: $user_id (string), $realtime (bool), $k (int), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})
WITH u, CASE WHEN $realtime THEN coalesce(u.online_embedding, u.embedding)
             ELSE u.embedding END AS query
WHERE query IS NOT NULL
CALL db.index.vector.queryNodes('video_embedding', $k, query) YIELD node AS v, score
WITH u, v, score
WHERE v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH u, v, score ORDER BY score DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       CASE WHEN $realtime AND u.online_embedding IS NOT NULL THEN 'your recent activity'
            ELSE 'your taste profile' END AS via
