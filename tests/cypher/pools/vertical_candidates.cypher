// Extra visibility for vertical creators in their niche: recent approved videos (in a pool,
// not seen) of creators labelled VERTICAL in a tag the user is interested in, carrying that
// tag; score = the user's interest weight x the creator's share in the tag.
// params: $user_id (string), $limit (int)
// returns: video_id, creator_id, via, score
MATCH (u:User {id: $user_id})-[i:INTERESTED_IN]->(t:Tag)<-[x:VERTICAL]-(c:Creator)
WITH u, c, t, coalesce(i.weight, 1.0) * x.share AS w
ORDER BY w DESC LIMIT 20
CALL (c, t) {
  MATCH (c)-[:POSTED]->(v:Video)-[:TAGGED]->(t)
  WHERE v.status = 'approved' AND EXISTS { (v)-[:IN_POOL]->(:Pool) }
  RETURN v ORDER BY v.created_at DESC LIMIT 5
}
WITH u, v, c, t, w WHERE NOT EXISTS { (u)-[:SAW]->(v) }
WITH v, c, max(w) AS score, min(t.id) AS tag
RETURN v.id AS video_id, c.id AS creator_id, 'vertical #' + tag AS via, score
ORDER BY score DESC, video_id ASC
LIMIT $limit
