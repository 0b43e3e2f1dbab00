// Event ids stored in the graph (any interaction type) that start with $prefix: the faults
// benchmark compares them with the ids the API acknowledged.
// params: $prefix (string)
// returns: event_id
MATCH (:User)-[r]->()
WHERE r.event_id STARTS WITH $prefix
RETURN r.event_id AS event_id
