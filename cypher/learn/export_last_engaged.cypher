// When each user of a batch last engaged with each video (relationship types in $types, e.g.
// VIEWED, LIKED), one row per user: the item-to-item model's time-ordered validation split
// and recency weights are built from it.
// params: $user_ids (list of string), $types (list of string: relationship types)
// returns: user_id, video_ids, ats (epoch ms, the latest engagement with each video)
UNWIND $user_ids AS uid
MATCH (u:User {id: uid})-[r]->(v:Video)
WHERE type(r) IN $types AND r.at IS NOT NULL
WITH u, v, max(r.at) AS at
RETURN u.id AS user_id, collect(v.id) AS video_ids, collect(at) AS ats
