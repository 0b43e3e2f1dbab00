// The stored embeddings of some videos (the online trainer starts from them; the simulated
// day follows uploads' vectors with it; round-trip checks).
// params: $video_ids (list of string)
// returns: video_id, embedding, source
UNWIND $video_ids AS id
MATCH (v:Video {id: id})
RETURN v.id AS video_id, v.embedding AS embedding, v.embedding_source AS source
