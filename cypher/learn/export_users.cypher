// One page of user ids in id order, for a streamed export (pass the last id as $after).
// params: $after (string, '' for the first page), $limit (int)
// returns: user_id
MATCH (u:User)
WHERE u.id > $after
RETURN u.id AS user_id
ORDER BY u.id
LIMIT $limit
