// Users' online state for Redis (graphrec state sync), a page at a time in id order: tag
// interests (INTERESTED_IN weights, declared flag), tags of their last $max_likes likes,
// creators followed, net skips per creator (skips minus twice the views, as the feed reads
// them), communities, the embedding the feed queries with (online, else learned) and every
// video the user interacted with (the seen filter); the $recent videos engaged with last
// (view, complete, like, comment, share: the item-to-item source walks from them).
// params: $after (string, last id of the previous page; '' first), $limit (int),
//   $max_likes (int), $recent (int)
// returns: user_id, interests, liked_tags, follows, skipped_creators, communities, embedding,
//   seen, recent (video ids, latest first)
MATCH (u:User) WHERE u.id > $after
WITH u ORDER BY u.id LIMIT $limit
CALL (u) {
  OPTIONAL MATCH (u)-[l:LIKED]->(v:Video)
  WITH v, l ORDER BY l.at DESC, v.id LIMIT $max_likes
  OPTIONAL MATCH (v)-[:TAGGED]->(t:Tag)
  WITH t.id AS tag, count(*) AS n WHERE tag IS NOT NULL
  RETURN collect({tag: tag, n: n}) AS liked_tags
}
CALL (u) {
  OPTIONAL MATCH (u)-[:SKIPPED]->(:Video)<-[:POSTED]-(c:Creator)
  WITH u, c, count(*) AS skips WHERE c IS NOT NULL
  WITH c.id AS creator,
       skips - 2 * COUNT { (u)-[:VIEWED]->(:Video)<-[:POSTED]-(c) } AS n
  RETURN collect({creator: creator, n: n}) AS skipped_creators
}
RETURN u.id AS user_id,
       [(u)-[i:INTERESTED_IN]->(t:Tag) |
        {tag: t.id, weight: toFloat(coalesce(i.weight, 1.0)),
         declared: coalesce(i.declared, false)}] AS interests,
       liked_tags,
       [(u)-[:FOLLOWS]->(c:Creator) | c.id] AS follows,
       skipped_creators,
       [(u)-[m:MEMBER_OF]->(c:Community) | {id: c.id, label: c.label, score: m.score}]
         AS communities,
       coalesce(u.online_embedding, u.embedding) AS embedding,
       COLLECT { MATCH (u)-->(v:Video) RETURN DISTINCT v.id } AS seen,
       COLLECT { MATCH (u)-[r:VIEWED|COMPLETED|LIKED|COMMENTED|SHARED]->(v:Video)
                 WITH v, max(r.at) AS at ORDER BY at DESC, v.id LIMIT $recent
                 RETURN v.id } AS recent
