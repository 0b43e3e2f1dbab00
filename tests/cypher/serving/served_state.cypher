// What the graph writer's served impressions left on some videos: the impressions counter,
// the pool membership's budget and served count, and the SAWs a served feed wrote.
// params: $video_ids (list of string)
// returns: video_id, impressions, budget, served, saws (SAWs with a served_id)
UNWIND $video_ids AS id
MATCH (v:Video {id: id})
OPTIONAL MATCH (v)-[r:IN_POOL]->(:Pool)
RETURN v.id AS video_id, v.impressions AS impressions, r.budget AS budget, r.served AS served,
       COUNT { ()-[s:SAW]->(v) WHERE s.served_id IS NOT NULL } AS saws
