// Feed source "blend", retrieval: the $k videos nearest $vector in the vector index $index
// (video_spectral: the summed query vectors; video_embedding: the user's embedding).
// params: $index (string), $k (int), $vector (list of float)
// returns: video_id
CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node
RETURN node.id AS video_id
