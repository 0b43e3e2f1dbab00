// The vector indexes the graph holds and their sizes (db migrate compares them with the
// configured GRAPHREC_EMBEDDING_DIM and GRAPHREC_SPECTRAL_RANK).
// params: (none)
// returns: name, dimensions
SHOW INDEXES YIELD name, type, options
WHERE type = 'VECTOR'
RETURN name, options.indexConfig['vector.dimensions'] AS dimensions
ORDER BY name
