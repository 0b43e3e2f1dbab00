// The videos a user has seen (SAW), newest first: what no feed may show them again.
// params: $user_id (string), $limit (int)
// returns: video_id, at
MATCH (:User {id: $user_id})-[s:SAW]->(v:Video)
RETURN v.id AS video_id, s.at AS at
ORDER BY s.at DESC
LIMIT $limit
