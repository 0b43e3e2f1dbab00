// Removes the vectors whose size is not the configured one (db migrate --reindex, after a
// vector index was created again for a new GRAPHREC_EMBEDDING_DIM or GRAPHREC_SPECTRAL_RANK):
// they can no longer be compared with the index's vectors; the next `graphrec train` writes
// new ones. Auto-commit, in batches.
// params: $embedding_dim (int), $spectral_dim (int)
// returns: cleared (int)
MATCH (n)
WHERE (n:User OR n:Video OR n:Tag OR n:Creator)
  AND ((n.embedding IS NOT NULL AND size(n.embedding) <> $embedding_dim)
    OR (n.online_embedding IS NOT NULL AND size(n.online_embedding) <> $embedding_dim)
    OR (n.spectral_key IS NOT NULL AND size(n.spectral_key) <> $spectral_dim)
    OR (n.spectral_query IS NOT NULL AND size(n.spectral_query) <> $spectral_dim))
CALL (n) {
  SET n.embedding_rev = CASE WHEN size(n.embedding) = $embedding_dim THEN n.embedding_rev END,
      n.embedding = CASE WHEN size(n.embedding) = $embedding_dim THEN n.embedding END,
      n.online_embedding =
        CASE WHEN size(n.online_embedding) = $embedding_dim THEN n.online_embedding END,
      n.spectral_key = CASE WHEN size(n.spectral_key) = $spectral_dim THEN n.spectral_key END,
      n.spectral_query =
        CASE WHEN size(n.spectral_query) = $spectral_dim THEN n.spectral_query END
} IN TRANSACTIONS OF 5000 ROWS
RETURN count(n) AS cleared
