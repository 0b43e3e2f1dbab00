// Videos by audit status (approved, rejected, review).
// params: (none)
// returns: (nothing)
CREATE INDEX video_status IF NOT EXISTS FOR (v:Video) ON (v.status)
