// One page of videos in id order with their status, creator and tags, for a streamed export.
// params: $after (string, '' for the first page), $limit (int)
// returns: video_id, status, creator_id, tags
MATCH (v:Video)
WHERE v.id > $after
WITH v
ORDER BY v.id
LIMIT $limit
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, v.status AS status, c.id AS creator_id,
       COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags
ORDER BY video_id
