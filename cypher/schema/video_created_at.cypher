// Videos by upload time: cohorts, look-back windows, "new content" filters.
// params: (none)
// returns: (nothing)
CREATE INDEX video_created_at IF NOT EXISTS FOR (v:Video) ON (v.created_at)
