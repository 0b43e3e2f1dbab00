// Videos lifted by a creator's hit (spillover), newest first: the feed's spillover source.
// params: (none)
// returns: (nothing)
CREATE INDEX video_spillover_at IF NOT EXISTS FOR (v:Video) ON (v.spillover_at)
