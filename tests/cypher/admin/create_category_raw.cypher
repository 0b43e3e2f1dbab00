// Creates a category without MERGE: fails when the id exists (exercises the constraint).
// params: $id (string)
// returns: id
CREATE (c:Category {id: $id, name: $id})
RETURN c.id AS id
