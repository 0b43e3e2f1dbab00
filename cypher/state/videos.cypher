// Videos' facts for Redis (graphrec state sync), a page at a time in id order: creator, tags,
// audit status and reasons (events on a rejected video are refused with them), length and
// learned embedding (the online embedding's steps).
// params: $after (string, last id of the previous page; '' first), $limit (int)
// returns: video_id, creator_id, tags, status, reasons, duration_ms, embedding
MATCH (v:Video) WHERE v.id > $after
WITH v ORDER BY v.id LIMIT $limit
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       v.status AS status, v.reasons AS reasons, v.duration_ms AS duration_ms,
       v.embedding AS embedding
