// The graph filter's low-rank vectors for Redis (graphrec state sync), a page of videos at a
// time in id order: each video's query and key vector (graphrec/learn/spectral.py).
// params: $after (string, last id of the previous page; '' first), $limit (int)
// returns: video_id, query (list of float), key (list of float)
MATCH (v:Video) WHERE v.id > $after AND v.spectral_key IS NOT NULL
WITH v ORDER BY v.id LIMIT $limit
RETURN v.id AS video_id, v.spectral_query AS query, v.spectral_key AS key
