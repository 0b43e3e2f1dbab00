// Community profiles: each interest community's size, its stored top tags and label, and
// what its members actually do: the tags they like most and the creators they follow most.
// params: $top (int, how many tags and creators to list)
// defaults: $top = 5
// returns: community, label, size, members, top_tags, liked_tags, top_creators
MATCH (com:Community)
CALL (com) {
  OPTIONAL MATCH (com)<-[:MEMBER_OF]-(u:User)
  RETURN count(u) AS members
}
CALL (com) {
  OPTIONAL MATCH (com)<-[:MEMBER_OF]-(:User)-[:LIKED]->(:Video)-[:TAGGED]->(t:Tag)
  WITH t, count(*) AS n WHERE t IS NOT NULL
  ORDER BY n DESC, t.id LIMIT $top
  RETURN collect(t.id) AS liked_tags
}
CALL (com) {
  OPTIONAL MATCH (com)<-[:MEMBER_OF]-(:User)-[:FOLLOWS]->(c:Creator)
  WITH c, count(*) AS n WHERE c IS NOT NULL
  ORDER BY n DESC, c.id LIMIT $top
  RETURN collect(c.id) AS top_creators
}
RETURN com.id AS community, com.label AS label, com.size AS size, members,
       com.top_tags AS top_tags, liked_tags, top_creators
ORDER BY size DESC, community;
