// The top videos of an interest community: approved videos its members liked, ranked by how
// many members liked them, then by score. With $community null, every community's top list.
// params: $community (community id as stored, or null for every community), $limit (int, per
//   community)
// defaults: $community = null, $limit = 10
// returns: community, label, rank, video_id, creator_id, member_likes, score, likes, pool
MATCH (com:Community)
WHERE $community IS NULL OR com.id = $community
CALL (com) {
  MATCH (com)<-[:MEMBER_OF]-(:User)-[:LIKED]->(v:Video {status: 'approved'})
  WITH v, count(*) AS member_likes
  ORDER BY member_likes DESC, coalesce(v.score, -1.0) DESC, v.id
  LIMIT $limit
  WITH collect({v: v, n: member_likes}) AS top
  UNWIND range(0, size(top) - 1) AS i
  RETURN i + 1 AS rank, top[i].v AS v, top[i].n AS member_likes
}
OPTIONAL MATCH (c:Creator)-[:POSTED]->(v)
OPTIONAL MATCH (v)-[:IN_POOL]->(p:Pool)
RETURN com.id AS community, com.label AS label, rank, v.id AS video_id, c.id AS creator_id,
       member_likes, v.score AS score, v.likes AS likes, p.id AS pool
ORDER BY community, rank;
