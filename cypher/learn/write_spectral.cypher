// Writes the graph filter's low-rank vectors onto Video nodes: the query vector (summed over
// a user's history) and the unit key vector the video_spectral index holds.
// params: $rows (list of {id: string, query: list of float, key: list of float})
// returns: written (int)
UNWIND $rows AS row
MATCH (v:Video {id: row.id})
SET v.spectral_query = row.query, v.spectral_key = row.key
RETURN count(v) AS written
