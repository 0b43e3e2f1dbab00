// Every Category has a unique id (also the index that id look-ups use).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT category_id_unique IF NOT EXISTS FOR (n:Category) REQUIRE n.id IS UNIQUE
