// The "embedding" source's nearline lists: for each user's vector (the online embedding held
// in Redis), the $limit nearest servable videos through the video_embedding vector index
// (cosine), best first. Seen videos are dropped at request time by the user's seen filter.
// params: $rows (list of {user_id, vector, via}), $k (int), $limit (int)
// returns: user_id, videos (list of {video_id, creator_id, tags, score, duration_ms,
//   quality, via})
UNWIND $rows AS row
CALL (row) {
  CALL db.index.vector.queryNodes('video_embedding', $k, row.vector) YIELD node AS v, score
  WITH v, score
  WHERE v.status = 'approved' AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
  WITH v, score ORDER BY score DESC, v.id LIMIT $limit
  MATCH (c:Creator)-[:POSTED]->(v)
  RETURN collect({video_id: v.id, creator_id: c.id, tags: COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id },
                  score: score, duration_ms: v.duration_ms,
                  quality: (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0)
                            + coalesce(v.completions, 0)) / (coalesce(v.impressions, 0) + 10.0),
                  via: row.via}) AS videos
}
RETURN row.user_id AS user_id, videos
