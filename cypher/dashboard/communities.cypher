// The dashboard's interest communities: each community with its label, size, stored top
// tags (from the last community detection) and the tags its members like most now.
// params: $limit (int, how many communities), $top (int, how many liked tags each)
// returns: community, label, size, top_tags, liked_tags (list of {tag, likes})
MATCH (com:Community)
WITH com ORDER BY com.size DESC, com.id LIMIT $limit
CALL (com) {
  OPTIONAL MATCH (com)<-[:MEMBER_OF]-(:User)-[:LIKED]->(:Video)-[:TAGGED]->(t:Tag)
  WITH t, count(*) AS likes WHERE t IS NOT NULL
  ORDER BY likes DESC, t.id LIMIT $top
  RETURN collect({tag: t.id, likes: likes}) AS liked_tags
}
RETURN com.id AS community, com.label AS label, coalesce(com.size, 0) AS size,
       coalesce(com.top_tags, []) AS top_tags, liked_tags
ORDER BY size DESC, community
