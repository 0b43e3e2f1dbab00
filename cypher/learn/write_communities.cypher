// Creates interest communities.
// params: $rows (list of {id, size, top_tags (list of string), label}), $at (int, epoch ms)
// returns: written
UNWIND $rows AS row
MERGE (c:Community {id: row.id})
SET c.size = row.size, c.top_tags = row.top_tags, c.label = row.label, c.computed_at = $at
RETURN count(c) AS written
