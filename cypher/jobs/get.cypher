// A job's state. No row: unknown job.
// params: $job_id (string)
// returns: job_id, kind, status, stage, done, total, started_at, updated_at, finished_at,
//   result (JSON text or null), error
MATCH (j:Job {id: $job_id})
RETURN j.id AS job_id, j.kind AS kind, j.status AS status, j.stage AS stage, j.done AS done,
       j.total AS total, j.started_at AS started_at, j.updated_at AS updated_at,
       j.finished_at AS finished_at, j.result AS result, j.error AS error
