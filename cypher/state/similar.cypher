// Item-to-item neighbours for Redis (graphrec state sync), a page of videos at a time in id
// order: each video with SIMILAR links and its approved neighbours, best first, compact:
// [neighbour id, score, quality] (the feed reads creator and tags from the catalogue).
// params: $after (string, last id of the previous page; '' first), $limit (int)
// returns: video_id, neighbours (list of [video_id, score, quality])
MATCH (v:Video) WHERE v.id > $after AND EXISTS { (v)-[:SIMILAR]->() }
WITH v ORDER BY v.id LIMIT $limit
RETURN v.id AS video_id,
       COLLECT {
         MATCH (v)-[s:SIMILAR]->(n:Video)
         WHERE n.status = 'approved'
         WITH s, n ORDER BY s.rank
         RETURN [n.id, s.score, (coalesce(n.likes, 0) + 2.0 * coalesce(n.shares, 0)
                 + coalesce(n.completions, 0)) / (coalesce(n.impressions, 0) + 10.0)]
       } AS neighbours
