// Every Pool has a unique id (also the index that id look-ups use).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT pool_id_unique IF NOT EXISTS FOR (n:Pool) REQUIRE n.id IS UNIQUE
