// Creates or updates tags and puts each in its category.
// params: $rows (list of {id, category})
// returns: tags (int)
UNWIND $rows AS row
MATCH (c:Category {id: row.category})
MERGE (t:Tag {id: row.id})
MERGE (t)-[:IN]->(c)
RETURN count(t) AS tags
