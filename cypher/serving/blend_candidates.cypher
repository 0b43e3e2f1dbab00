// Feed source "blend", the candidates' facts: of $ids, the approved, servable videos the
// user has not seen and not engaged with lately ($history), with the two dot products the
// served score reads, computed here so that a candidate returns two numbers, not its vectors:
// kq = the stored spectral key . $query (0 without a key or a query), eu = the unit
// embedding . $user (0 without an embedding or a user vector); and the feed's common columns.
// params: $user_id (string), $ids (list of video ids), $history (list of video ids),
//   $query (list of float or null), $user (list of float or null)
// returns: video_id, creator_id, tags, duration_ms, quality, kq, eu
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
       CASE WHEN v.spectral_key IS NULL OR $query IS NULL
              OR size(v.spectral_key) <> size($query) THEN 0.0
            ELSE reduce(s = 0.0, i IN range(0, size($query) - 1) | s + v.spectral_key[i] * $query[i])
       END AS kq,
       CASE WHEN v.embedding IS NULL OR $user IS NULL OR size(v.embedding) <> size($user) THEN 0.0
            ELSE reduce(s = 0.0, i IN range(0, size($user) - 1) | s + v.embedding[i] * $user[i])
                 / CASE WHEN reduce(n = 0.0, x IN v.embedding | n + x * x) > 0
                        THEN sqrt(reduce(n = 0.0, x IN v.embedding | n + x * x)) ELSE 1.0 END
       END AS eu
