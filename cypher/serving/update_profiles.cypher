// Moves each user's profile at once after their events (the next feed reflects them, no
// retrain): INTERESTED_IN weights of the events' videos' tags move by the events' weights
// (like +, skip -; each event's step clamped to [$min_weight, $max_weight]; declared interests keep
// declared = true), the online embedding steps towards (or away from) the events' videos'
// embeddings: normalise(normalise(base) + $rate * sum(w * normalise(video))), where base is
// the online embedding, else the learned one, else zero; and last_active_at moves forward.
// The events API without the spine (graphrec.events.ingest: the simulator, tests) runs this;
// the graph writer runs the same arithmetic batch-wide (graphrec.events.step_profiles:
// serving/step_interests, serving/step_embeddings) at less Neo4j CPU; change them together
// (tests/test_spine_writer_events.py holds them equal; graphrec bench apply compares).
// params: $rows (list of {user_id, at, items: list of {video_id, w}, one per event in order}),
//   $rate (float),
//   $min_weight (float), $max_weight (float)
// returns: users, tags, embedded (totals: one record, whatever the batch)
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
SET u.last_active_at = CASE WHEN coalesce(u.last_active_at, 0) > row.at
                            THEN u.last_active_at ELSE row.at END
WITH u, row
CALL (u, row) {
  // The user is write-locked (last_active_at above), so finding then creating the
  // INTERESTED_IN links cannot race; reading them once per user, not once per tag, is
  // what keeps this cheap.
  // One step per event, in the events' order, each clamped (as the Redis state moves):
  // ten likes then a skip end at max - skip, not at max.
  UNWIND range(0, size(row.items) - 1) AS n
  MATCH (:Video {id: row.items[n].video_id})-[:TAGGED]->(t:Tag)
  WITH t, n, row.items[n].w AS w ORDER BY n
  WITH t, collect(w) AS ws
  WITH collect({t: t, ws: ws}) AS deltas
  WITH deltas, [(u)-[i:INTERESTED_IN]->(t:Tag) WHERE t IN [d IN deltas | d.t] | i] AS existing
  UNWIND deltas AS d
  WITH d.t AS t, d.ws AS ws, [x IN existing WHERE endNode(x) = d.t][0] AS i
  WITH t, i, reduce(x = coalesce(i.weight, 0.0), w IN ws |
         CASE WHEN x + w > $max_weight THEN $max_weight
              WHEN x + w < $min_weight THEN $min_weight ELSE x + w END) AS weight
  FOREACH (x IN CASE WHEN i IS NULL THEN [] ELSE [i] END |
    SET x.weight = weight, x.updated_at = row.at)
  FOREACH (_ IN CASE WHEN i IS NULL THEN [1] ELSE [] END |
    CREATE (u)-[:INTERESTED_IN {weight: weight, declared: false, updated_at: row.at}]->(t))
  RETURN count(t) AS tags
}
CALL (u, row) {
  UNWIND row.items AS it
  MATCH (v:Video {id: it.video_id})
  WHERE v.embedding IS NOT NULL AND it.w <> 0
  WITH it.w AS w, v.embedding AS e
  WITH w, e, sqrt(reduce(s = 0.0, x IN e | s + x * x)) AS n
  WHERE n > 0
  WITH collect({w: w / n, e: e}) AS xs
  WITH xs, coalesce(u.online_embedding, u.embedding) AS base
  WHERE size(xs) > 0
  WITH xs, base, CASE WHEN base IS NULL THEN 0.0
                      ELSE sqrt(reduce(s = 0.0, x IN base | s + x * x)) END AS bn
  WITH [i IN range(0, size(xs[0].e) - 1) |
        CASE WHEN bn > 0 THEN base[i] / bn ELSE 0.0 END
        + $rate * reduce(s = 0.0, x IN xs | s + x.w * x.e[i])] AS raw
  WITH raw, sqrt(reduce(s = 0.0, x IN raw | s + x * x)) AS rn
  WHERE rn > 0
  SET u.online_embedding = [x IN raw | x / rn], u.online_at = row.at
  RETURN count(*) AS embedded
}
RETURN count(u) AS users, sum(tags) AS tags, sum(embedded) AS embedded
