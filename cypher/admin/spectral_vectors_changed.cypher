// After admin/drop_stale_vectors: marks the stored spectral vectors as changed on
// (:Model {id: 'spectral'}) (changed_at), so a process holding copies of them (the feed's
// blend source on the Neo4j path, keyed by serving/blend_version) drops its copies.
// params: (none)
// returns: changed (int)
MATCH (m:Model {id: 'spectral'})
SET m.changed_at = timestamp()
RETURN count(m) AS changed
