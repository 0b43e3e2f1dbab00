// Feed source "blend", the candidates' facts: of $ids, the approved, servable videos the
// user has not seen and not engaged with lately ($history), with what the served score
// reads (the stored spectral key, the embedding) and the feed's common columns.
// params: $user_id (string), $ids (list of video ids), $history (list of video ids)
// returns: video_id, creator_id, tags, duration_ms, quality, key, embedding
MATCH (u:User {id: $user_id})
UNWIND $ids AS vid
MATCH (v:Video {id: vid})
WHERE v.status = 'approved' AND NOT v.id IN $history AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, [(v)-[:TAGGED]->(t:Tag) | t.id] AS tags,
       v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       v.spectral_key AS key, v.embedding AS embedding
