// Creates the traffic pools, from review to trending, plus the long tail.
// params: $rows (list of {id, level, name, budget_min, budget_max})
// returns: pools (int)
UNWIND $rows AS row
MERGE (p:Pool {id: row.id})
SET p.level = row.level, p.name = row.name,
    p.budget_min = row.budget_min, p.budget_max = row.budget_max
RETURN count(p) AS pools
