// Cold start for a video: sets v.embedding to a weighted mean of its tags' embeddings (0.5),
// its creator's embedding (0.3) and the embeddings of users who already engaged with it
// (liked, completed, shared, commented: 0.2; the 50 latest, then by id; every list summed in
// id order, so the same graph gives the same floats), renormalised over the sources that exist, so a
// video uploaded after training is retrievable through the video_embedding index at once.
// An embedding written by training (v.embedding_source = 'trained') is kept, not overwritten;
// a new one gets a new embedding_rev (as learn/write_video_embeddings: copies know it moved).
// No row when none of the sources has an embedding yet (nothing to embed from).
// params: $video_id (string)
// returns: video_id, dims
MATCH (v:Video {id: $video_id})
CALL (v) {
  OPTIONAL MATCH (v)-[:TAGGED]->(t:Tag)
  WHERE t.embedding IS NOT NULL
  WITH t ORDER BY t.id
  RETURN collect(t.embedding) AS tags
}
CALL (v) {
  OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
  WHERE c.embedding IS NOT NULL
  WITH c ORDER BY c.id
  RETURN collect(c.embedding) AS creators
}
CALL (v) {
  OPTIONAL MATCH (u:User)-[e:LIKED|COMPLETED|SHARED|COMMENTED]->(v)
  WHERE u.embedding IS NOT NULL
  WITH u, max(e.at) AS at ORDER BY at DESC, u.id LIMIT 50
  RETURN collect(u.embedding) AS users
}
WITH v,
     [e IN tags | {w: 0.5 / size(tags), e: e}]
     + [e IN creators | {w: 0.3 / size(creators), e: e}]
     + [e IN users | {w: 0.2 / size(users), e: e}] AS sources
WHERE size(sources) > 0
WITH v, sources, reduce(s = 0.0, x IN sources | s + x.w) AS total
WITH v, [i IN range(0, size(sources[0].e) - 1) |
         reduce(s = 0.0, x IN sources | s + x.w * x.e[i]) / total] AS emb
SET v.embedding_rev =
      CASE WHEN v.embedding_source = 'trained' THEN v.embedding_rev ELSE randomUUID() END,
    v.embedding = CASE WHEN v.embedding_source = 'trained' THEN v.embedding ELSE emb END,
    v.embedding_source = coalesce(v.embedding_source, 'cold_start')
RETURN v.id AS video_id, size(v.embedding) AS dims
