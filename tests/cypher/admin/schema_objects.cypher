// The constraints and indexes in the database, by name.
// params: (none)
// returns: name, type, labels, properties
SHOW INDEXES YIELD name, type, labelsOrTypes, properties
RETURN name, type, labelsOrTypes AS labels, properties
ORDER BY name
