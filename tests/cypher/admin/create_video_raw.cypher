// Creates a bare video node (schema tests: no creator, tags or pool).
// params: $id (string), $status (string)
// returns: id
CREATE (v:Video {id: $id, status: $status})
RETURN v.id AS id
