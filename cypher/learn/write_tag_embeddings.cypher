// Writes learned (or cold-start) embeddings onto Tag nodes; the tag nodes' vector index,
// where there is one, picks them up. source: 'trained' or 'cold_start' (cold-start queries
// never overwrite a trained embedding).
// params: $rows (list of {id, embedding (list of float), source}), $at (int, epoch ms)
// returns: written
UNWIND $rows AS row
MATCH (n:Tag {id: row.id})
SET n.embedding = row.embedding, n.embedding_source = row.source, n.embedding_at = $at
RETURN count(n) AS written
