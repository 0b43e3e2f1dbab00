// Deletes every relationship, in batches (the first half of a wipe: deleting nodes with
// thousands of relationships in one go would blow the transaction memory limit).
// params: (none)
// returns: (nothing)
MATCH ()-[r]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS
