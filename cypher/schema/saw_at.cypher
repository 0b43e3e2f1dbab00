// Impressions by serve time: the learned ranker's training log (learn/impression_lists) reads
// a window of served impressions ($since..$until) by seeking this index, not by scanning
// every SAW of the graph (world M after a few benches: 2.6M SAW, 5-7 s a read whatever the
// window; the online refresh reads a 30-minute window every few minutes).
// params: (none)
// returns: (nothing)
CREATE INDEX saw_at IF NOT EXISTS FOR ()-[s:SAW]-() ON (s.at)
