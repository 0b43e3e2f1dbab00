// Opens a pool cycle: a new (:Cycle {id, started_at}) numbered after the last one. While
// another cycle is running (started less than $stale_ms ago, not finished) nothing is created
// and cycle is null. The review pool node is write-locked for this short transaction only,
// so two cycles starting at once queue here instead of both running. No row: no pools.
// params: $now (int, epoch ms), $stale_ms (int)
// returns: cycle, started_at, busy
MATCH (lock:Pool {id: 'review'})
SET lock._cycle_lock = true
REMOVE lock._cycle_lock
WITH lock
OPTIONAL MATCH (running:Cycle)
WHERE running.finished_at IS NULL AND running.started_at > $now - $stale_ms
WITH lock, count(running) AS busy
OPTIONAL MATCH (last:Cycle)
WITH busy, max(last.id) AS last
OPTIONAL CALL (busy, last) {
  WITH busy, last WHERE busy = 0
  CREATE (c:Cycle {id: coalesce(last, 0) + 1, started_at: $now})
  RETURN c
}
RETURN c.id AS cycle, c.started_at AS started_at, busy
