// Item-to-item neighbours for Redis (graphrec state sync), a page of videos at a time in id
// order: each video with SIMILAR links and its neighbours, best first, with the facts the
// feed shows (creator, tags, length, quality).
// params: $after (string, last id of the previous page; '' first), $limit (int)
// returns: video_id, neighbours (list of {video_id, score, creator_id, tags, duration_ms,
//   quality})
MATCH (v:Video) WHERE v.id > $after AND EXISTS { (v)-[:SIMILAR]->() }
WITH v ORDER BY v.id LIMIT $limit
RETURN v.id AS video_id,
       COLLECT {
         MATCH (v)-[s:SIMILAR]->(n:Video)<-[:POSTED]-(c:Creator)
         WHERE n.status = 'approved'
         WITH s, n, c ORDER BY s.rank
         RETURN {video_id: n.id, score: s.score, creator_id: c.id,
                 tags: [(n)-[:TAGGED]->(t:Tag) | t.id], duration_ms: n.duration_ms,
                 quality: (coalesce(n.likes, 0) + 2.0 * coalesce(n.shares, 0)
                           + coalesce(n.completions, 0)) / (coalesce(n.impressions, 0) + 10.0)}
       } AS neighbours
