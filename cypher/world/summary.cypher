// What is in the graph: node counts by label and relationship counts by type.
// params: (none)
// returns: kind, name, count
CALL db.labels() YIELD label
CALL (label) { MATCH (n:$(label)) RETURN count(n) AS count }
RETURN 'node' AS kind, label AS name, count
UNION ALL
CALL db.relationshipTypes() YIELD relationshipType
CALL (relationshipType) { MATCH ()-[r:$(relationshipType)]->() RETURN count(r) AS count }
RETURN 'relationship' AS kind, relationshipType AS name, count
