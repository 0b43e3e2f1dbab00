// The pool each of a list of videos is in now (null when in none, e.g. rejected).
// params: $video_ids (list of string)
// returns: video_id, pool
UNWIND $video_ids AS id
MATCH (v:Video {id: id})
OPTIONAL MATCH (v)-[:IN_POOL]->(p:Pool)
RETURN v.id AS video_id, p.id AS pool
