// Which of the given tag ids exist (sign-up checks declared interests against them).
// params: $tags (list of string)
// returns: tag
UNWIND $tags AS id
MATCH (t:Tag {id: id})
RETURN t.id AS tag
