// Community amplification for a feed: promoted videos (boost or trending pool) amplified in
// one of the user's communities (MEMBER_OF) or, where the tag audience stood in, in a tag the
// user is interested in (INTERESTED_IN); approved, not seen; best engagement first.
// params: $user_id (string), $limit (int)
// returns: video_id, creator_id, via, score
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (u)-[:MEMBER_OF]->(cm:Community)<-[a:AMPLIFIED_IN]-(v:Video)
  RETURN v, a.engagement AS engagement, 'community ' + cm.id AS via
  UNION
  MATCH (u)-[:INTERESTED_IN]->(t:Tag)<-[a:AMPLIFIED_IN]-(v:Video)
  RETURN v, a.engagement AS engagement, '#' + t.id AS via
}
WITH u, v, max(engagement) AS score, min(via) AS via
WHERE v.status = 'approved' AND NOT EXISTS { (u)-[:SAW]->(v) }
  AND EXISTS { (v)-[:IN_POOL]->(p:Pool) WHERE p.id IN ['boost', 'trending'] }
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, via, score
ORDER BY score DESC, video_id ASC
LIMIT $limit
