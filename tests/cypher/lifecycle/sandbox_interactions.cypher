// Writes interactions exactly as given (tests, demos). $rows' type is one of SAW, VIEWED,
// COMPLETED, LIKED, COMMENTED, SHARED, SKIPPED (checked: other rows are skipped).
// params: $rows (list of {user, video, type, at})
// returns: created (int)
UNWIND $rows AS row
WITH row WHERE row.type IN ['SAW', 'VIEWED', 'COMPLETED', 'LIKED', 'COMMENTED', 'SHARED', 'SKIPPED']
MATCH (u:User {id: row.user}), (v:Video {id: row.video})
CREATE (u)-[r:$(row.type)]->(v)
SET r.at = row.at
RETURN count(r) AS created
