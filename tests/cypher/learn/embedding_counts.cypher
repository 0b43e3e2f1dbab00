// How many nodes of each learned kind carry an embedding, by source (trained, cold_start).
// params: (none)
// returns: label, source, nodes
MATCH (n)
WHERE (n:User OR n:Video OR n:Tag OR n:Creator) AND n.embedding IS NOT NULL
UNWIND [l IN labels(n) WHERE l IN ['User', 'Video', 'Tag', 'Creator']] AS label
RETURN label, n.embedding_source AS source, count(*) AS nodes
ORDER BY label, source
