// Videos revived by the look-back rule, newest first: the feed's look-back source.
// params: (none)
// returns: (nothing)
CREATE INDEX video_revived_at IF NOT EXISTS FOR (v:Video) ON (v.revived_at)
