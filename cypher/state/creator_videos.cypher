// The "following" source's shared lists (graphrec state sync): each creator's $per_creator
// newest servable videos (approved, in a pool), with what the ranker needs.
// params: $per_creator (int)
// returns: creator_id, videos (list of {video_id, creator_id, tags, score, duration_ms,
//   quality, via})
MATCH (c:Creator)-[:POSTED]->(v:Video)
WHERE v.status = 'approved' AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH c, v ORDER BY v.created_at DESC, v.id
WITH c, collect(v)[..$per_creator] AS vs
RETURN c.id AS creator_id,
       [v IN vs | {video_id: v.id, creator_id: c.id, tags: COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id },
                   score: 1.0, duration_ms: v.duration_ms,
                   quality: (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0)
                             + coalesce(v.completions, 0)) / (coalesce(v.impressions, 0) + 10.0),
                   via: coalesce(c.name, c.id)}] AS videos
