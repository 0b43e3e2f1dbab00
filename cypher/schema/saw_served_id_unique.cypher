// Each SAW a served feed wrote carries its serving id (feed id + video), unique: the graph
// writer applies served impressions from the event stream at most once, however often it
// re-reads the stream (cypher/serving/apply_served checks it first; this stops a race).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT saw_served_id_unique IF NOT EXISTS FOR ()-[r:SAW]-() REQUIRE r.served_id IS UNIQUE
