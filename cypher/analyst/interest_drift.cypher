// Users whose interests drifted recently: the category mix of each user's views and likes in
// the last $recent_days against the mix before, as a total-variation distance (0 = same mix,
// 1 = disjoint). The reference time is $now, or when null the latest user activity.
// params: $recent_days (int), $min_events (int, in each window), $now (int, epoch ms, or
//   null), $limit (int)
// defaults: $recent_days = 7, $min_events = 5, $now = null, $limit = 25
// returns: user_id, recent_events, older_events, drift, recent_top, recent_top_share,
//   older_top, older_top_share
MATCH (u:User)
WITH coalesce($now, max(u.last_active_at)) AS now
WITH now - $recent_days * 86400000 AS cutoff
MATCH (u:User)-[e:VIEWED|LIKED]->(:Video)-[:TAGGED]->(:Tag)-[:IN]->(cat:Category)
WITH DISTINCT u, e, cat, cutoff
WITH u, cat, count(CASE WHEN e.at >= cutoff THEN e END) AS recent,
     count(CASE WHEN e.at < cutoff THEN e END) AS older
WITH u, collect({cat: cat.id, recent: recent, older: older}) AS mix,
     sum(recent) AS recent_events, sum(older) AS older_events
WHERE recent_events >= $min_events AND older_events >= $min_events
WITH u, mix, recent_events, older_events,
     reduce(d = 0.0, m IN mix |
       d + abs(toFloat(m.recent) / recent_events - toFloat(m.older) / older_events)) / 2 AS drift,
     reduce(b = null, m IN mix | CASE WHEN b IS NULL OR m.recent > b.recent THEN m ELSE b END)
       AS rtop,
     reduce(b = null, m IN mix | CASE WHEN b IS NULL OR m.older > b.older THEN m ELSE b END)
       AS otop
RETURN u.id AS user_id, recent_events, older_events, drift,
       rtop.cat AS recent_top, toFloat(rtop.recent) / recent_events AS recent_top_share,
       otop.cat AS older_top, toFloat(otop.older) / older_events AS older_top_share
ORDER BY drift DESC, user_id
LIMIT $limit;
