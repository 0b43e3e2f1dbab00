// Sets a tag's embedding (tests and demos, before any training).
// params: $tag (string), $embedding (list of float)
// returns: tag
MATCH (t:Tag {id: $tag})
SET t.embedding = $embedding
RETURN t.id AS tag
