// Deletes every node and relationship (tests and benchmarks start from a clean graph).
// The schema (constraints, indexes) stays.
// params: (none)
// returns: (nothing)
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
