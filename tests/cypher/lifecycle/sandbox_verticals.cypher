// Vertical labels now, per creator.
// params: (none)
// returns: creator_id, tag, share
MATCH (c:Creator)-[x:VERTICAL]->(t:Tag)
RETURN c.id AS creator_id, t.id AS tag, x.share AS share
ORDER BY creator_id, tag
