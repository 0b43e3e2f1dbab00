// Every tag with its category (a few hundred rows).
// params: (none)
// returns: tag_id, category
MATCH (t:Tag)
OPTIONAL MATCH (t)-[:IN]->(c:Category)
RETURN t.id AS tag_id, c.id AS category
ORDER BY tag_id
