// Where promoted videos are amplified.
// params: (none)
// returns: video_id, target, audience, engagement
MATCH (v:Video)-[a:AMPLIFIED_IN]->(x)
RETURN v.id AS video_id, x.id AS target, a.audience AS audience, a.engagement AS engagement
ORDER BY video_id, target
