// Up to $limit user ids (benchmarks and simulations draw requests from them).
// params: $limit (int)
// returns: id
MATCH (u:User)
RETURN u.id AS id
LIMIT $limit
