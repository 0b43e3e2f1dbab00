// A round trip to the database (health checks).
// params: (none)
// returns: ok
RETURN 1 AS ok
