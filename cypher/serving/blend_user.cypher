// Feed source "blend" (the served score, graphrec/learn/blend.py), first read: the user's
// $history most recent engaged videos (latest first; with $realtime = false only what
// training saw, as in serving/source_similar), their spectral query vectors (null where a
// video has none) and the embedding the feed queries with (online, else learned).
// params: $user_id (string), $realtime (bool), $history (int)
// returns: history (list of video ids), queries (list of vectors or null), embedding
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(h:Video)
  WHERE $realtime OR r.event_id IS NULL
  WITH h, max(r.at) AS at
  ORDER BY at DESC, h.id
  LIMIT $history
  RETURN collect(h.id) AS history, collect(h.spectral_query) AS queries
}
RETURN history, queries,
       CASE WHEN $realtime THEN coalesce(u.online_embedding, u.embedding)
            ELSE u.embedding END AS embedding
