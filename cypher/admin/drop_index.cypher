// Drops one index by name (db migrate --reindex, before creating it again at another size).
// params: $index (string)
// returns: (nothing)
DROP INDEX $index IF EXISTS
