// A video's spectral vectors as stored (schema tests).
// params: $id (string)
// returns: key, query
MATCH (v:Video {id: $id})
RETURN v.spectral_key AS key, v.spectral_query AS query
