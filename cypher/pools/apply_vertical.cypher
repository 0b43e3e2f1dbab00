// Sets creators' vertical labels to the wanted set (one batch of decide_vertical's rows):
// labels not wanted any more are removed, new ones created (since $now), shares refreshed.
// params: $rows (list of {creator_id, labels: list of {tag, share}}), $now (int, epoch ms)
// returns: creator_id, added, removed
UNWIND $rows AS row
MATCH (c:Creator {id: row.creator_id})
CALL (c, row) {
  OPTIONAL MATCH (c)-[x:VERTICAL]->(t:Tag)
  WHERE NOT t.id IN [l IN row.labels | l.tag]
  DELETE x
  RETURN count(x) AS removed
}
CALL (c, row) {
  UNWIND row.labels AS l
  MATCH (t:Tag {id: l.tag})
  WITH c, l, t, EXISTS { (c)-[:VERTICAL]->(t) } AS had
  MERGE (c)-[x:VERTICAL]->(t)
  ON CREATE SET x.since = $now
  SET x.share = l.share
  RETURN count(CASE WHEN had THEN null ELSE 1 END) AS added
}
RETURN c.id AS creator_id, added, removed
