// "Videos like what this user likes": nearest videos to the user's online embedding (moved by
// events) or else their learned one, through the video_embedding vector index (cosine).
// Rejected videos are dropped, so fewer than $k rows may come back; the caller drops seen ones.
// No rows when the user has no embedding.
// params: $user_id (string), $k (int)
// returns: video_id, score
MATCH (u:User {id: $user_id})
WITH coalesce(u.online_embedding, u.embedding) AS query
WHERE query IS NOT NULL
CALL db.index.vector.queryNodes('video_embedding', $k, query) YIELD node, score
WITH node, score
WHERE coalesce(node.status, 'approved') <> 'rejected'
RETURN node.id AS video_id, score
ORDER BY score DESC
