// Why a user sees a video: the graph paths between them, one row per path kind and hop.
// Reasons: interested_in_tag (a tag of the user's profile), liked_tag (the user liked other
// videos with the tag), follows_creator, liked_creator (the user liked other videos of its
// creator), community (members of the user's communities liked it), similar_user (a user who liked what this user liked also liked it), embedding (cosine
// of the user's online or learned embedding and the video's), pool (the pool serving it;
// strength = its level).
// With $video_id null: the user's five most recently seen videos.
// params: $user_id (string), $video_id (string, or null for the latest seen videos)
// defaults: $user_id = 'u0000001', $video_id = null
// returns: video_id, reason, via, strength
MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (v:Video {id: $video_id})
  RETURN v
  UNION
  MATCH (u)-[s:SAW]->(v:Video)
  WHERE $video_id IS NULL
  WITH v, s ORDER BY s.at DESC, v.id LIMIT 5
  RETURN v
}
CALL (u, v) {
  MATCH (u)-[i:INTERESTED_IN]->(t:Tag)<-[:TAGGED]-(v)
  RETURN 'interested_in_tag' AS reason, t.id AS via, toFloat(i.weight) AS strength
  UNION ALL
  MATCH (u)-[:LIKED]->(other:Video)-[:TAGGED]->(t:Tag)<-[:TAGGED]-(v)
  WHERE other <> v
  RETURN 'liked_tag' AS reason, t.id AS via, toFloat(count(DISTINCT other)) AS strength
  UNION ALL
  MATCH (u)-[:FOLLOWS]->(c:Creator)-[:POSTED]->(v)
  RETURN 'follows_creator' AS reason, c.id AS via, 1.0 AS strength
  UNION ALL
  MATCH (u)-[:LIKED]->(other:Video)<-[:POSTED]-(c:Creator)-[:POSTED]->(v)
  WHERE other <> v
  RETURN 'liked_creator' AS reason, c.id AS via, toFloat(count(DISTINCT other)) AS strength
  UNION ALL
  MATCH (u)-[:MEMBER_OF]->(com:Community)<-[:MEMBER_OF]-(peer:User)-[:LIKED]->(v)
  WHERE peer <> u
  RETURN 'community' AS reason, toString(com.id) AS via,
         toFloat(count(DISTINCT peer)) AS strength
  UNION ALL
  MATCH (u)-[:LIKED]->(shared:Video)<-[:LIKED]-(peer:User)-[:LIKED]->(v)
  WHERE peer <> u AND shared <> v
  RETURN 'similar_user' AS reason, peer.id AS via, toFloat(count(DISTINCT shared)) AS strength
  UNION ALL
  WITH u, v, coalesce(u.online_embedding, u.embedding) AS ue
  WHERE ue IS NOT NULL AND v.embedding IS NOT NULL AND size(ue) = size(v.embedding)
  RETURN 'embedding' AS reason, 'cosine' AS via,
         vector.similarity.cosine(ue, v.embedding) AS strength
  UNION ALL
  MATCH (v)-[ip:IN_POOL]->(p:Pool)
  RETURN 'pool' AS reason, p.id AS via, toFloat(p.level) AS strength
}
RETURN v.id AS video_id, reason, via, strength
ORDER BY video_id, reason, strength DESC, via;
