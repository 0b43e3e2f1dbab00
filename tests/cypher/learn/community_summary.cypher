// The interest communities, largest first, with their members' count.
// params: $limit (int)
// returns: community_id, size, label, top_tags, members
MATCH (c:Community)
OPTIONAL MATCH (u:User)-[:MEMBER_OF]->(c)
RETURN c.id AS community_id, c.size AS size, c.label AS label, c.top_tags AS top_tags,
       count(u) AS members
ORDER BY size DESC
LIMIT $limit
