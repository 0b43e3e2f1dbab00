// Pool budgets for Redis (graphrec state sync): every video in a budgeted pool entry, with
// which entry it is (pool and since: a new entry brings a new budget) and what is left of it
// by the graph's count. Redis keeps its own live count for an entry it already holds.
// params: (none)
// returns: video_id, entry, remaining
MATCH (v:Video)-[r:IN_POOL]->(p:Pool)
WHERE coalesce(r.budget, 0) > 0 AND v.status = 'approved'
RETURN v.id AS video_id, p.id + ':' + toString(r.since) AS entry,
       r.budget - coalesce(r.served, 0) AS remaining
