// The stored embeddings of some videos (round-trip checks, offline analysis).
// params: $video_ids (list of string)
// returns: video_id, embedding, source
UNWIND $video_ids AS id
MATCH (v:Video {id: id})
RETURN v.id AS video_id, v.embedding AS embedding, v.embedding_source AS source
