// The dashboard's hints: a few user and creator ids to try in the feed and creator forms
// (the most active users, the creators with the most videos).
// params: $limit (int)
// returns: users (list of string), creators (list of string)
CALL () {
  MATCH (u:User)
  WITH u ORDER BY coalesce(u.last_active_at, 0) DESC, u.id LIMIT $limit
  RETURN collect(u.id) AS users
}
CALL () {
  MATCH (c:Creator)
  OPTIONAL MATCH (c)-[:POSTED]->(v:Video)
  WITH c, count(v) AS videos ORDER BY videos DESC, c.id LIMIT $limit
  RETURN collect(c.id) AS creators
}
RETURN users, creators
