// Up to $limit ids of approved videos in a pool (benchmarks draw events on them).
// params: $limit (int)
// returns: id
MATCH (v:Video)-[:IN_POOL]->(:Pool)
WHERE v.status = 'approved'
RETURN v.id AS id
LIMIT $limit
