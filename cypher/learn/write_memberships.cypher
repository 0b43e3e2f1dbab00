// Puts users in their interest community: (User)-[:MEMBER_OF {score}]->(Community), where
// score is the share of the user's neighbourhood weight that lies inside the community.
// params: $rows (list of {user_id, community_id, score})
// returns: written
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (c:Community {id: row.community_id})
MERGE (u)-[m:MEMBER_OF]->(c)
SET m.score = row.score
RETURN count(m) AS written
