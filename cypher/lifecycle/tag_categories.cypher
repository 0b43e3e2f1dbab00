// The category of each tag that already exists (tags not returned are new).
// params: $tags (list of string)
// returns: tag, category
UNWIND $tags AS tag
MATCH (t:Tag {id: tag})-[:IN]->(c:Category)
RETURN t.id AS tag, min(c.id) AS category
