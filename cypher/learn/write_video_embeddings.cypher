// Writes learned (or cold-start) embeddings onto Video nodes; the video nodes' vector index,
// where there is one, picks them up. source: 'trained' or 'cold_start' (cold-start queries
// never overwrite a trained embedding). Each write gives the video a new embedding_rev (a
// random UUID): a reader holding a copy of the embedding (the feed's blend source on the
// Neo4j path) knows it is still the stored one while the rev is unchanged.
// params: $rows (list of {id, embedding (list of float), source}), $at (int, epoch ms)
// returns: written
UNWIND $rows AS row
MATCH (n:Video {id: row.id})
SET n.embedding = row.embedding, n.embedding_rev = randomUUID(), n.embedding_source = row.source,
    n.embedding_at = $at
RETURN count(n) AS written
