// Every Creator has a unique id (also the index that id look-ups use).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT creator_id_unique IF NOT EXISTS FOR (n:Creator) REQUIRE n.id IS UNIQUE
