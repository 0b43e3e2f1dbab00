// Deletes every node (the second half of a wipe, after admin/wipe_relationships; DETACH
// covers anything written in between). The schema (constraints, indexes) stays.
// params: (none)
// returns: (nothing)
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
