// Writes the follows of the history (user -> creator, with the video that won the follow).
// params: $rows (list of [user_id, video_id, at])
// returns: follows (int)
UNWIND $rows AS row
MATCH (u:User {id: row[0]})
MATCH (c:Creator)-[:POSTED]->(v:Video {id: row[1]})
MERGE (u)-[f:FOLLOWS]->(c)
ON CREATE SET f.at = row[2], f.video = row[1]
RETURN count(f) AS follows
