// Starts a background job of a kind unless one of that kind is running: the kind's JobLock is
// write-locked first, so two concurrent starts queue and the second sees the first's job. A
// running job not updated since $stale_before (its process died) no longer blocks.
// params: $kind (string), $job_id (string), $now (int, epoch ms), $stale_before (int, epoch ms)
// returns: job_id, started (bool), running (string: the id of the job that blocks, or null)
MERGE (l:JobLock {id: $kind})
SET l._lock = true
WITH l
OPTIONAL MATCH (r:Job {kind: $kind, status: 'running'})
WHERE r.updated_at >= $stale_before
WITH l, r ORDER BY r.started_at DESC LIMIT 1
REMOVE l._lock
WITH r
OPTIONAL CALL (r) {
  WITH r WHERE r IS NULL
  CREATE (j:Job {id: $job_id, kind: $kind, status: 'running', stage: 'queued', done: 0,
                 total: 0, started_at: $now, updated_at: $now})
  RETURN j.id AS created
}
RETURN coalesce(created, r.id) AS job_id, created IS NOT NULL AS started, r.id AS running
