// Puts users in interest communities (tests and demos; training writes the real ones).
// params: $rows (list of {user, community, score})
// returns: members (int)
UNWIND $rows AS row
MATCH (u:User {id: row.user})
MERGE (c:Community {id: row.community})
ON CREATE SET c.label = row.community, c.size = 0
MERGE (u)-[m:MEMBER_OF]->(c)
SET m.score = row.score
RETURN count(m) AS members
