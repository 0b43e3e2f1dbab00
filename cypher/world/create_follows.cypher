// Writes the follows of the history (user -> creator, with the video that won the follow);
// a follow that already exists is left as it is, so a rerun creates nothing.
// params: $rows (list of [user_id, video_id, at])
// returns: follows (int, created now)
UNWIND $rows AS row
MATCH (u:User {id: row[0]})
MATCH (c:Creator)-[:POSTED]->(v:Video {id: row[1]})
WHERE NOT (u)-[:FOLLOWS]->(c)
CREATE (u)-[f:FOLLOWS {at: row[2], video: row[1]}]->(c)
RETURN count(f) AS follows
