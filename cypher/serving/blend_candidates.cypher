// Feed source "blend", the candidates' facts: of $items (one {id, spectral, rev} per video),
// the approved, servable videos the user has not seen and not engaged with lately ($history),
// with the feed's common columns and what the served score reads that the source does not
// hold yet: the spectral query and key unless `spectral` (it holds them), the embedding
// (with $embeddings) unless its embedding_rev is `rev` (it holds that one); `rev` returned.
// params: $user_id (string), $items (list of {id: string, spectral: bool, rev: string or null}),
//   $history (list of video ids), $embeddings (bool)
// returns: video_id, creator_id, tags, duration_ms, quality, query, key, embedding, rev
MATCH (u:User {id: $user_id})
UNWIND $items AS it
MATCH (v:Video {id: it.id})
WHERE v.status = 'approved' AND NOT v.id IN $history AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       v.duration_ms AS duration_ms,
       (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
         / (coalesce(v.impressions, 0) + 10.0) AS quality,
       CASE WHEN it.spectral THEN null ELSE v.spectral_query END AS query,
       CASE WHEN it.spectral THEN null ELSE v.spectral_key END AS key,
       CASE WHEN $embeddings AND (v.embedding_rev IS NULL OR it.rev IS NULL
                                  OR v.embedding_rev <> it.rev)
            THEN v.embedding END AS embedding,
       v.embedding_rev AS rev
