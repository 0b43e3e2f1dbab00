// The graph writer's half of serving/update_profiles without the embedding (that is
// serving/step_embeddings): last_active_at moves forward, and the INTERESTED_IN weights of
// the events' videos' tags move by the events' weights, one step per event in the events'
// order, each clamped to [$min_weight, $max_weight] (ten likes then a skip end at
// max - skip, not at max); a new link is declared = false, a declared one keeps declared.
// The same arithmetic as serving/update_profiles, over the whole batch at once rather than
// in two subqueries per user: at world M a batch of 5,000 events touches ~4,000 users with
// one or two events each, so the per-user fixed cost was most of the work.
// params: $rows (list of {user_id, at, items: list of {video_id, w}, one per event in order}),
//   $min_weight (float), $max_weight (float)
// returns: tags (INTERESTED_IN links moved or made)
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
SET u.last_active_at = CASE WHEN coalesce(u.last_active_at, 0) > row.at
                            THEN u.last_active_at ELSE row.at END
WITH u, row
UNWIND range(0, size(row.items) - 1) AS n
MATCH (:Video {id: row.items[n].video_id})-[:TAGGED]->(t:Tag)
WITH u, row.at AS at, t, n, row.items[n].w AS w ORDER BY n
WITH u, at, t, collect(w) AS ws
WITH u, at, t, ws, head([(u)-[i:INTERESTED_IN]->(t) | i]) AS i
WITH u, at, t, i, reduce(x = coalesce(i.weight, 0.0), w IN ws |
       CASE WHEN x + w > $max_weight THEN $max_weight
            WHEN x + w < $min_weight THEN $min_weight ELSE x + w END) AS weight
FOREACH (x IN CASE WHEN i IS NULL THEN [] ELSE [i] END |
  SET x.weight = weight, x.updated_at = at)
FOREACH (_ IN CASE WHEN i IS NULL THEN [1] ELSE [] END |
  CREATE (u)-[:INTERESTED_IN {weight: weight, declared: false, updated_at: at}]->(t))
RETURN count(*) AS tags
