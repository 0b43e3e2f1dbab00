// Removes every interest community and its MEMBER_OF relationships (before a recompute).
// params: (none)
// returns: removed
MATCH (c:Community)
DETACH DELETE c
RETURN count(*) AS removed
