// Creates or updates categories (dance, comedy, DIY ...).
// params: $rows (list of {id, name})
// returns: categories (int)
UNWIND $rows AS row
MERGE (c:Category {id: row.id})
SET c.name = row.name
RETURN count(c) AS categories
