// Feed source "blend" (the served score, graphrec/learn/blend.py), first read: the user's
// $history most recent engaged videos (latest first; with $realtime = false only what
// training saw, as in serving/source_similar) and the embedding the feed queries with
// (online, else learned). The history's spectral query vectors come from the source's copies
// (serving/blend_vectors for those it lacks).
// params: $user_id (string), $realtime (bool), $history (int)
// returns: history (list of video ids), embedding
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(h:Video)
  WHERE $realtime OR r.event_id IS NULL
  WITH h, max(r.at) AS at
  ORDER BY at DESC, h.id
  LIMIT $history
  RETURN collect(h.id) AS history
}
RETURN history,
       CASE WHEN $realtime THEN coalesce(u.online_embedding, u.embedding)
            ELSE u.embedding END AS embedding
