// The stored embeddings of some users (the online trainer starts from them; round-trip checks).
// params: $user_ids (list of string)
// returns: user_id, embedding, source
UNWIND $user_ids AS id
MATCH (u:User {id: id})
RETURN u.id AS user_id, u.embedding AS embedding, u.embedding_source AS source
