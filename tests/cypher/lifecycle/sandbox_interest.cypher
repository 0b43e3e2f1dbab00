// Sets a user's interest in a tag (tests and demos).
// params: $user_id (string), $tag (string), $weight (float)
// returns: weight
MATCH (u:User {id: $user_id}), (t:Tag {id: $tag})
MERGE (u)-[i:INTERESTED_IN]->(t)
SET i.weight = $weight, i.declared = true
RETURN i.weight AS weight
