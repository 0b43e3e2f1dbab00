// Pool cycles and the moves each recorded.
// params: (none)
// returns: cycle, started_at, finished_at, status, counts_json, moved
MATCH (c:Cycle)
RETURN c.id AS cycle, c.started_at AS started_at, c.finished_at AS finished_at,
       c.status AS status, c.counts_json AS counts_json,
       COUNT { ()-[m:MOVED]->() WHERE m.cycle = c.id } AS moved
ORDER BY cycle
