// "Users like this user": nearest users to the user's online embedding (or else the learned
// one) through the user_embedding vector index (cosine), the user themself left out.
// No rows when the user has no embedding.
// params: $user_id (string), $k (int)
// returns: user_id, score
MATCH (u:User {id: $user_id})
WITH u, coalesce(u.online_embedding, u.embedding) AS query
WHERE query IS NOT NULL
CALL db.index.vector.queryNodes('user_embedding', $k + 1, query) YIELD node, score
WITH u, node, score
WHERE node <> u
RETURN node.id AS user_id, score
ORDER BY score DESC
LIMIT $k
