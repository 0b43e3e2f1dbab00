// Closes a pool cycle with what moved (counts per transition, as JSON).
// params: $cycle (int), $now (int, epoch ms), $counts_json (string), $status (string)
// returns: cycle, finished_at
MATCH (c:Cycle {id: $cycle})
SET c.finished_at = $now, c.counts_json = $counts_json, c.status = $status
RETURN c.id AS cycle, c.finished_at AS finished_at
