// Signs a user up: a new User with profile fields and declared interests
// (INTERESTED_IN {weight: 1.0, declared: true}) for the given tags that exist. No row when the
// id is taken (the caller answers 409); the unique constraint stops a concurrent twin.
// params: $id (string), $display_name (string), $active_hour (int or null), $tags (list of string),
//   $at (int, epoch ms)
// returns: user_id, interests
OPTIONAL MATCH (old:User {id: $id})
WITH old WHERE old IS NULL
CREATE (u:User {id: $id, name: $display_name, created_at: $at, last_active_at: $at,
                active_hour: $active_hour})
WITH u
CALL (u) {
  UNWIND $tags AS tag
  MATCH (t:Tag {id: tag})
  MERGE (u)-[i:INTERESTED_IN]->(t)
  SET i.weight = 1.0, i.declared = true, i.updated_at = $at
  RETURN count(t) AS interests
}
RETURN u.id AS user_id, interests
