// Waits until every index is online (after a migration or a bulk load).
// params: (none)
// returns: (nothing)
CALL db.awaitIndexes(300)
