// Records that a feed showed videos to a user, counting pool budgets down without overrun.
// Each video is write-locked (its impressions counter is bumped first) before its IN_POOL
// budget is read, so concurrent feeds never serve a video past its budget. A video whose
// budget (> 0) is already spent, that is not approved or does not exist is NOT recorded and
// comes back with granted = false: the caller drops it. Granted videos get
// (u)-[:SAW {at}]->(v), v.impressions + 1 and, when in a budgeted pool, IN_POOL.served + 1.
// Videos without a budget (trending, long tail, none) are always granted. Ids are handled in
// sorted order (one lock order for every caller: fewer deadlocks). Each SAW carries its
// serving id ($feed_id:video) and what the ranker saw ($logs[video]: x, the logged feature
// vector, list<float>; pos, its place in the page): the learned ranker's training log.
// params: $user_id (string), $video_ids (list of string), $at (int, epoch ms),
//   $feed_id (string), $logs (map video id -> {x: list<float>, pos: int}; may lack a video)
// returns: video_id, granted
MATCH (u:User {id: $user_id})
UNWIND $video_ids AS vid
WITH DISTINCT u, vid
ORDER BY vid
OPTIONAL MATCH (v:Video {id: vid})
OPTIONAL CALL (u, v, vid) {
  WITH u, v WHERE v IS NOT NULL AND v.status = 'approved'
  // Take the write lock on the video first: every recorder of this video queues here.
  SET v._lock = true
  WITH u, v
  OPTIONAL MATCH (v)-[r:IN_POOL]->(:Pool)
  WITH u, v, r,
       r IS NULL OR coalesce(r.budget, 0) <= 0 OR coalesce(r.served, 0) < r.budget AS ok
  REMOVE v._lock
  WITH u, v, r, ok WHERE ok
  SET v.impressions = coalesce(v.impressions, 0) + 1
  CREATE (u)-[:SAW {at: $at, served_id: $feed_id + ':' + vid, x: $logs[vid].x,
                    pos: $logs[vid].pos}]->(v)
  FOREACH (x IN CASE WHEN r IS NOT NULL AND coalesce(r.budget, 0) > 0 THEN [r] ELSE [] END |
    SET x.served = coalesce(x.served, 0) + 1)
  RETURN ok
}
RETURN vid AS video_id, coalesce(ok, false) AS granted
