// Vertical labels: a creator with at least $min_videos approved videos of which a share of at
// least $min_share carry one tag earns (Creator)-[:VERTICAL {since, share}]->(Tag); a label
// that no longer holds goes. Returns only the creators whose labels must change (a tag to add
// or remove, or a share that moved), with the full wanted set for each.
// params: $min_videos (int), $min_share (float)
// returns: creator_id, labels (list of {tag, share}), current (list of string)
MATCH (c:Creator)
CALL (c) {
  OPTIONAL MATCH (c)-[:POSTED]->(v:Video {status: 'approved'})
  WITH count(v) AS n, collect(v) AS videos
  UNWIND CASE WHEN n >= $min_videos THEN videos ELSE [] END AS v
  MATCH (v)-[:TAGGED]->(t:Tag)
  WITH n, t, count(DISTINCT v) AS k
  WITH t, round(toFloat(k) / n, 4) AS share WHERE share >= $min_share
  ORDER BY t.id
  RETURN collect({tag: t.id, share: share}) AS labels
}
WITH c, labels, [(c)-[x:VERTICAL]->(t:Tag) | {tag: t.id, share: x.share}] AS current_labels
WITH c, labels, [l IN current_labels | l.tag] AS current, current_labels
WHERE size(labels) > 0 OR size(current) > 0
WITH c, labels, current, current_labels
WHERE any(l IN labels WHERE NOT l IN current_labels)
   OR any(t IN current WHERE NOT t IN [l IN labels | l.tag])
RETURN c.id AS creator_id, labels, current
ORDER BY creator_id
