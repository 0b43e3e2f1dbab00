// One Cycle node per pool cycle (lifecycle), numbered 1, 2, 3...
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT cycle_id_unique IF NOT EXISTS FOR (c:Cycle) REQUIRE c.id IS UNIQUE
