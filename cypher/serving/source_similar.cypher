// Feed source "similar" (item-to-item): the videos most similar (SIMILAR, from co-engagement,
// written at training time) to what the user engaged with most recently, weighted by how
// recent each engagement is (the i-th most recent counts exp(-i / tau)), summed over the
// history; tau is what training chose on validation ((:Model {id: 'similar'}).tau), else
// $tau. Approved, servable, not seen. Every new event changes the history: the next feed
// reflects it with no retrain. With $realtime = false only what training saw counts (no
// event_id: loaded or imported history), as in serving/feed_context.
// params: $user_id (string), $realtime (bool), $history (int, most recent engaged videos walked from),
//   $tau (float, recency scale in history positions when training chose none), $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(h:Video)
  WHERE $realtime OR r.event_id IS NULL
  WITH h, max(r.at) AS at
  ORDER BY at DESC, h.id
  LIMIT $history
  RETURN collect(h) AS recent
}
OPTIONAL MATCH (m:Model {id: 'similar'})
WITH u, recent, toFloat(coalesce(m.tau, $tau)) AS tau
UNWIND range(0, size(recent) - 1) AS i
WITH u, recent[i] AS h, exp(-toFloat(i) / tau) AS w
MATCH (h)-[s:SIMILAR]->(v:Video)
WITH u, v, sum(w * s.score) AS score,
     collect(h)[0] AS via_video
WHERE score > 0 AND v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
WITH v, score, via_video ORDER BY score DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       score, v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       coalesce(via_video.caption, via_video.id) AS via
