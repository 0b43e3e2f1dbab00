// Cold start for a user: sets u.embedding to a weighted mean of the embeddings of the tags
// they declared or were found interested in (INTERESTED_IN, by r.weight: 0.4), the videos they
// engaged with (viewed, completed, liked, commented, shared; the latest 100: 0.5) and the
// creators they follow (0.1), renormalised over the sources that exist, so "videos like what
// this user likes" and "users like this user" work before any retrain.
// An embedding written by training (u.embedding_source = 'trained') is kept, not overwritten.
// No row when none of the sources has an embedding yet.
// params: $user_id (string)
// returns: user_id, dims
MATCH (u:User {id: $user_id})
CALL (u) {
  OPTIONAL MATCH (u)-[r:INTERESTED_IN]->(t:Tag)
  WHERE t.embedding IS NOT NULL AND coalesce(r.weight, 1.0) > 0
  WITH t, r ORDER BY t.id
  RETURN collect(CASE WHEN t IS NOT NULL
                      THEN {w: toFloat(coalesce(r.weight, 1.0)), e: t.embedding} END) AS tags
}
CALL (u) {
  OPTIONAL MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(v:Video)
  WHERE v.embedding IS NOT NULL
  WITH v, max(r.at) AS at
  ORDER BY at DESC, v.id
  LIMIT 100
  RETURN collect(v.embedding) AS videos
}
CALL (u) {
  OPTIONAL MATCH (u)-[:FOLLOWS]->(c:Creator)
  WHERE c.embedding IS NOT NULL
  WITH c ORDER BY c.id
  RETURN collect(c.embedding) AS creators
}
WITH u, tags, videos, creators, reduce(s = 0.0, x IN tags | s + x.w) AS tag_total
WITH u,
     [x IN tags | {w: 0.4 * x.w / tag_total, e: x.e}]
     + [e IN videos | {w: 0.5 / size(videos), e: e}]
     + [e IN creators | {w: 0.1 / size(creators), e: e}] AS sources
WHERE size(sources) > 0
WITH u, sources, reduce(s = 0.0, x IN sources | s + x.w) AS total
WITH u, [i IN range(0, size(sources[0].e) - 1) |
         reduce(s = 0.0, x IN sources | s + x.w * x.e[i]) / total] AS emb
SET u.embedding = CASE WHEN u.embedding_source = 'trained' THEN u.embedding ELSE emb END,
    u.embedding_source = coalesce(u.embedding_source, 'cold_start')
RETURN u.id AS user_id, size(u.embedding) AS dims
