// Feed source "spectral" (the graph filter's low-rank part): the user's vector is the sum of
// the query vectors of their $history most recent engaged videos; the video_spectral vector
// index returns the videos whose keys score highest against it (cosine on keys augmented for
// inner product: the filter's own order). Approved, servable, not seen, not in that history. Every new event
// changes the history, so the next feed reflects it with no retrain; with $realtime = false
// only what training saw counts (no event_id), as in serving/source_similar.
// params: $user_id (string), $realtime (bool), $history (int, most recent engaged videos summed),
//   $k (int, index neighbours fetched), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(h:Video)
  WHERE ($realtime OR r.event_id IS NULL) AND h.spectral_query IS NOT NULL
  WITH h, max(r.at) AS at
  ORDER BY at DESC, h.id
  LIMIT $history
  RETURN collect(h.spectral_query) AS qs, collect(h) AS history
}
WITH u, qs, history WHERE size(qs) > 0
WITH u, history, reduce(acc = [x IN qs[0] | 0.0], q IN qs |
       [i IN range(0, size(acc) - 1) | acc[i] + q[i]]) AS query
WHERE any(x IN query WHERE x <> 0.0)
CALL db.index.vector.queryNodes('video_spectral', $k, query) YIELD node AS v, score
WITH u, history, v, score
WHERE v.status = 'approved' AND NOT v IN history AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH history[0] AS latest, v, score ORDER BY score DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(latest.caption, latest.id) AS via
