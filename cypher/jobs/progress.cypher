// Records a running job's progress: its current stage and how far it is.
// params: $job_id (string), $stage (string), $done (int), $total (int), $now (int, epoch ms)
// returns: job_id
MATCH (j:Job {id: $job_id, status: 'running'})
SET j.stage = $stage, j.done = $done, j.total = $total, j.updated_at = $now
RETURN j.id AS job_id
