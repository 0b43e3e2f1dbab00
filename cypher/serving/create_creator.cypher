// Makes a creator: a new Creator node, or, when a User has this id, the creator role on that
// user (one node :User:Creator, one id). No row when a Creator with this id exists (409).
// A new creator starts with no followers, no strikes and a neutral account score.
// params: $id (string), $display_name (string), $at (int, epoch ms), $account_score (float)
// returns: creator_id, is_user
OPTIONAL MATCH (old:Creator {id: $id})
WITH old WHERE old IS NULL
OPTIONAL MATCH (u:User {id: $id})
CALL (u) {
  WITH u WHERE u IS NOT NULL
  SET u:Creator
  RETURN u AS c
  UNION
  WITH u WHERE u IS NULL
  CREATE (c:Creator {id: $id})
  RETURN c
}
SET c.name = coalesce($display_name, c.name), c.followers = 0, c.strikes = 0, c.joined_at = $at,
    c.account_score = $account_score
RETURN c.id AS creator_id, c:User AS is_user
