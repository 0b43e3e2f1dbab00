// How many stored interactions carry an event id starting with $prefix, and how many distinct
// ids among them (graphrec bench events: acknowledged vs stored, repeats counted twice).
// params: $prefix (string)
// returns: stored, distinct_ids
MATCH (:User)-[r:SAW|VIEWED|COMPLETED|LIKED|COMMENTED|SHARED|SKIPPED|FOLLOWS]->()
WHERE r.event_id STARTS WITH $prefix
RETURN count(r) AS stored, count(DISTINCT r.event_id) AS distinct_ids
