// Deletes every SIMILAR relationship (item-to-item neighbours), in batches, before a
// retrained set is written. Runs as an auto-commit transaction (CALL ... IN TRANSACTIONS).
// params: (none)
// returns: (nothing)
MATCH ()-[s:SIMILAR]->()
CALL (s) { DELETE s } IN TRANSACTIONS OF 20000 ROWS
