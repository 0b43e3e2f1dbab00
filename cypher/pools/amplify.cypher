// Community amplification of promoted videos: each video is boosted inside the interest
// communities where its engagement was best. Engagement of a community = its members who
// engaged (viewed, completed, liked, commented, shared) / (its members who saw it + 2), over a
// sample of at most $sample viewers and $sample engaged users, the latest first (then by id:
// the same graph picks the same sample whatever its store order). When the audience has no
// MEMBER_OF (before the learning area has found communities) the tag audience stands in: the
// video's tags ranked by how many engaged users are interested in them (INTERESTED_IN), then
// by tag id. The best $top targets get
// (v)-[:AMPLIFIED_IN {cycle, at, engagement, audience: 'community'|'tag'}]->(Community|Tag);
// an earlier amplification of the same video is replaced.
// params: $video_ids (list of string), $top (int), $sample (int), $cycle (int),
//   $now (int, epoch ms)
// returns: video_id, audience, targets
UNWIND $video_ids AS vid
MATCH (v:Video {id: vid})
CALL (v) {
  OPTIONAL MATCH (u:User)-[s:SAW]->(v)
  WITH u, max(s.at) AS at ORDER BY at DESC, u.id LIMIT $sample
  RETURN collect(u) AS audience
}
CALL (v) {
  OPTIONAL MATCH (u:User)-[e:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(v)
  WITH u, max(e.at) AS at ORDER BY at DESC, u.id LIMIT $sample
  RETURN collect(u) AS engaged
}
CALL (audience, engaged) {
  // no communities in the graph yet: skip the membership lookups altogether
  WITH audience, engaged WHERE EXISTS { MATCH (:Community) }
  UNWIND audience + engaged AS u
  MATCH (u)-[:MEMBER_OF]->(cm:Community)
  WITH cm, count(DISTINCT CASE WHEN u IN audience THEN u END) AS saw,
       count(DISTINCT CASE WHEN u IN engaged THEN u END) AS eng
  WHERE eng > 0
  WITH cm, toFloat(eng) / (saw + 2) AS engagement
  ORDER BY engagement DESC, cm.id ASC
  RETURN collect({node: cm, engagement: engagement})[0..$top] AS communities
}
CALL (v, engaged) {
  MATCH (v)-[:TAGGED]->(t:Tag)
  WITH t, size([u IN engaged WHERE EXISTS { (u)-[:INTERESTED_IN]->(t) }]) AS fans
  ORDER BY fans DESC, t.id ASC
  RETURN collect({node: t, engagement: toFloat(fans)})[0..$top] AS tags
}
WITH v, CASE WHEN size(communities) > 0 THEN communities ELSE tags END AS targets,
     CASE WHEN size(communities) > 0 THEN 'community' ELSE 'tag' END AS audience
CALL (v) {
  OPTIONAL MATCH (v)-[old:AMPLIFIED_IN]->()
  DELETE old
}
CALL (v, targets, audience) {
  UNWIND targets AS target
  WITH v, target, target.node AS x
  CREATE (v)-[:AMPLIFIED_IN {cycle: $cycle, at: $now, engagement: target.engagement,
                             audience: audience}]->(x)
}
RETURN v.id AS video_id, audience, [t IN targets | t.node.id] AS targets
