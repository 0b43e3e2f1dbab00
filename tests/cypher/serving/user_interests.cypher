// A user's INTERESTED_IN weights, by tag (the graph's side of the online profile).
// params: $user_id (string)
// returns: tag, weight
MATCH (:User {id: $user_id})-[i:INTERESTED_IN]->(t:Tag)
RETURN t.id AS tag, i.weight AS weight
ORDER BY tag
