// Nearest-neighbour retrieval of videos by learned embedding, inside Neo4j.
// The dimension is the one value a schema statement cannot take as a parameter: graphrec
// substitutes GRAPHREC_EMBEDDING_DIM for $embedding_dim before running it.
// params: $embedding_dim (int, substituted)
// returns: (nothing)
CREATE VECTOR INDEX video_embedding IF NOT EXISTS
FOR (v:Video) ON (v.embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $embedding_dim, `vector.similarity_function`: 'cosine'}}
