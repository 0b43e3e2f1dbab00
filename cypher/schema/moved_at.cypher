// Pool moves by time (lifecycle look-back: creators promoted lately; analysts: recent moves).
// params: (none)
// returns: (nothing)
CREATE INDEX moved_at IF NOT EXISTS FOR ()-[m:MOVED]-() ON (m.at)
