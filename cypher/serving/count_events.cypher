// Moves the video counters of a batch's accepted counted events (serving/store_events) once
// per video: each named counter by the number of its events, watch_ms by their watch time
// (set, 0 when none had any, as serving/ingest_events does per event). Integer sums, so the
// counters end where one step per event would have left them.
// params: $rows (list of {video_id, counts: map counter -> int, watch_ms: int}), sorted by
//   video id (the writers' lock order)
// returns: videos (how many were moved)
UNWIND $rows AS row
MATCH (v:Video {id: row.video_id})
FOREACH (k IN keys(row.counts) | SET v[k] = coalesce(v[k], 0) + row.counts[k])
SET v.watch_ms = coalesce(v.watch_ms, 0) + row.watch_ms
RETURN count(v) AS videos
