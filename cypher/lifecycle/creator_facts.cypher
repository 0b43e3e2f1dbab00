// What the audit needs to know about an uploading creator: strikes, account score and an
// earlier video of theirs with the same caption (compared case- and spacing-insensitively:
// the caller passes the normalised caption; stored videos are compared by their caption_key,
// or their lower-cased trimmed caption when they have none). No row: no such creator.
// params: $creator_id (string), $caption_key (string)
// returns: creator_id, strikes, account_score, duplicate_of
MATCH (c:Creator {id: $creator_id})
OPTIONAL CALL (c) {
  MATCH (c)-[:POSTED]->(v:Video)
  WHERE coalesce(v.caption_key, toLower(trim(v.caption))) = $caption_key
  RETURN v.id AS duplicate_of ORDER BY v.created_at, v.id LIMIT 1
}
RETURN c.id AS creator_id, coalesce(c.strikes, 0) AS strikes,
       coalesce(c.account_score, 0.5) AS account_score, duplicate_of
