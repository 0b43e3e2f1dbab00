// Every Video has a unique id (also the index that id look-ups use).
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT video_id_unique IF NOT EXISTS FOR (n:Video) REQUIRE n.id IS UNIQUE
