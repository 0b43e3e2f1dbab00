// Each COMPLETED relationship written by an event carries that event's client id, unique: POST
// /events checks it first (a repeat is acknowledged, never counted twice) and the constraint
// stops two concurrent batches from both storing one event. History loaded in bulk has none.
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT completed_event_id_unique IF NOT EXISTS FOR ()-[r:COMPLETED]-() REQUIRE r.event_id IS UNIQUE
