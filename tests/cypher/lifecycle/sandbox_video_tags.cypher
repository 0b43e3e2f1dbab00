// A video's tags and their categories.
// params: $video_id (string)
// returns: tag, category
MATCH (:Video {id: $video_id})-[:TAGGED]->(t:Tag)
OPTIONAL MATCH (t)-[:IN]->(c:Category)
RETURN t.id AS tag, c.id AS category ORDER BY tag
