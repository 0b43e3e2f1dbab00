// Creator ids for Redis's existence check (graphrec state sync), a page at a time.
// params: $after (string, last id of the previous page; '' first), $limit (int)
// returns: creator_id
MATCH (c:Creator) WHERE c.id > $after
RETURN c.id AS creator_id ORDER BY c.id LIMIT $limit
