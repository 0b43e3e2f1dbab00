// The random baseline of the simulation: approved videos the user has not seen, in an
// order that looks random but is fixed by $salt (so a seeded run repeats itself).
// params: $user_id (string), $n (int), $salt (string)
// returns: video_id, creator_id
MATCH (u:User {id: $user_id})
MATCH (c:Creator)-[:POSTED]->(v:Video {status: 'approved'})
WHERE NOT EXISTS { (u)-[:SAW]->(v) }
WITH v, c ORDER BY apoc.util.md5([v.id, $salt]) LIMIT $n
RETURN v.id AS video_id, c.id AS creator_id
