// The positive interactions of a batch of users, one row per user: each video they engaged
// with and the summed weight of the kinds of interaction (weights by relationship type, from
// Settings.learn_weights; types not in $weights count 0 and pairs weighing <= 0 are dropped).
// params: $user_ids (list of string), $weights (map: relationship type -> float)
// returns: user_id, video_ids, weights
UNWIND $user_ids AS uid
MATCH (u:User {id: uid})-[r]->(v:Video)
WITH u, v, sum(coalesce($weights[type(r)], 0.0)) AS w
WHERE w > 0
RETURN u.id AS user_id, collect(v.id) AS video_ids, collect(w) AS weights
