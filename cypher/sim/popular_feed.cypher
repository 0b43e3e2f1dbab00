// The most-popular baseline of the simulation: the approved videos with the most likes and
// completions that the user has not seen yet.
// params: $user_id (string), $n (int)
// returns: video_id, creator_id
MATCH (u:User {id: $user_id})
MATCH (c:Creator)-[:POSTED]->(v:Video {status: 'approved'})
WHERE NOT EXISTS { (u)-[:SAW]->(v) }
WITH v, c ORDER BY coalesce(v.likes, 0) * 3 + coalesce(v.completions, 0) DESC, v.id LIMIT $n
RETURN v.id AS video_id, c.id AS creator_id
