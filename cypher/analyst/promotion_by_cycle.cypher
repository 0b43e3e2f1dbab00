// Promotion rates per pool cycle: for each of the latest cycles and each pool videos left,
// how many videos were decided, promoted to a higher level, settled in the long tail or
// revived by look-back (from the Cycle nodes and the MOVED history the lifecycle writes).
// params: $limit (int, the number of latest cycles)
// defaults: $limit = 20
// returns: cycle, started_at, finished_at, from_pool, decided, promoted, settled, revived,
//   promotion_rate
MATCH (c:Cycle)
WITH c ORDER BY c.started_at DESC LIMIT $limit
OPTIONAL MATCH (:Video)-[m:MOVED]->(to:Pool)
WHERE m.cycle = c.id
OPTIONAL MATCH (src:Pool {id: m.from})
WITH c, m.from AS from_pool, count(m) AS decided,
     count(CASE WHEN to.level > src.level THEN m END) AS promoted,
     count(CASE WHEN to.id = 'long_tail' THEN m END) AS settled,
     count(CASE WHEN m.reason = 'look_back' THEN m END) AS revived
RETURN c.id AS cycle, c.started_at AS started_at, c.finished_at AS finished_at, from_pool,
       decided, promoted, settled, revived,
       CASE WHEN decided > 0 THEN toFloat(promoted) / decided END AS promotion_rate
ORDER BY started_at DESC, from_pool;
