// Ends a job: succeeded with its result (a JSON text) or failed with its error.
// params: $job_id (string), $status (string: succeeded | failed), $result (string, JSON or
//   null), $error (string or null), $now (int, epoch ms)
// returns: job_id
MATCH (j:Job {id: $job_id})
SET j.status = $status, j.result = $result, j.error = $error, j.finished_at = $now,
    j.updated_at = $now, j.stage = CASE WHEN $status = 'succeeded' THEN 'done' ELSE j.stage END
RETURN j.id AS job_id
