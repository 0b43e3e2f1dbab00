// Where videos stand: status, pool, budget, served, counters and how many users saw them.
// params: $video_ids (list of string)
// returns: video_id, status, reasons, pool, budget, served, since, impressions, score, seen_by,
//   spillover_boost, revived_at
UNWIND $video_ids AS vid
MATCH (v:Video {id: vid})
OPTIONAL MATCH (v)-[r:IN_POOL]->(p:Pool)
RETURN v.id AS video_id, v.status AS status, v.reasons AS reasons, p.id AS pool,
       r.budget AS budget, r.served AS served, r.since AS since, v.impressions AS impressions,
       v.score AS score, COUNT { (:User)-[:SAW]->(v) } AS seen_by,
       v.spillover_boost AS spillover_boost, v.revived_at AS revived_at
