// The learned ranker's training log: every served impression that kept what the ranker saw
// (SAW.x, written by pools/record_impressions and serving/apply_served), served in
// [$since, $until], with what the same user then did with the same video within $window ms
// of the serve: the kinds of the events (VIEWED, COMPLETED, LIKED, COMMENTED, SHARED,
// SKIPPED) and whether the user followed its creator in that window. One list per served
// feed: the serving id's feed part (served_id is "<feed id>:<video id>"). The window is read
// through the SAW.at index (schema/saw_at): its cost follows the window, not the graph's history.
// params: $since (int, epoch ms), $until (int, epoch ms), $window (int, ms)
// returns: user_id, feed, at, pos, x (list<float>), kinds (list of relationship types),
//   followed (bool); ordered by serve time, feed, position
MATCH (u:User)-[s:SAW]->(v:Video)
WHERE s.x IS NOT NULL AND s.at >= $since AND s.at <= $until
OPTIONAL MATCH (u)-[e:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED|SKIPPED]->(v)
  WHERE e.at >= s.at AND e.at <= s.at + $window
WITH u, v, s, collect(DISTINCT type(e)) AS kinds
OPTIONAL MATCH (u)-[f:FOLLOWS]->(:Creator)-[:POSTED]->(v)
  WHERE f.at >= s.at AND f.at <= s.at + $window
WITH u, s, kinds, count(f) > 0 AS followed
RETURN u.id AS user_id, split(s.served_id, ':')[0] AS feed, s.at AS at, s.pos AS pos, s.x AS x,
       kinds, followed
ORDER BY at, feed, pos
