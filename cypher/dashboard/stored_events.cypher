// The dashboard's event counter: how many user events the graph holds, by kind (one
// relationship type per kind; counted from Neo4j's count store, so it is cheap at any size).
// Two readings some seconds apart give the rate at which events are being stored.
// params: (none)
// returns: kind, events
UNWIND ['SAW', 'VIEWED', 'COMPLETED', 'LIKED', 'COMMENTED', 'SHARED', 'SKIPPED', 'FOLLOWS']
  AS kind
CALL (kind) {
  MATCH ()-[r:$(kind)]->()
  RETURN count(r) AS events
}
RETURN kind, events
