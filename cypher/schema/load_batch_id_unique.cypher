// Every LoadBatch has a unique id (also the index that id look-ups use).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT load_batch_id_unique IF NOT EXISTS FOR (n:LoadBatch) REQUIRE n.id IS UNIQUE
