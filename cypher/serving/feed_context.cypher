// What the feed needs to know about a user, in one read: tag interests (declared at sign-up
// and learned from events), tags of recent likes, creators followed, creators skipped,
// communities, whether an embedding exists, and every video seen (SAW): the feed drops those
// from the shared candidate lists. No row: unknown user.
// With $realtime = false only what training saw counts: declared interests, likes loaded or
// trained on (no event_id), no skip penalties; the online embedding is ignored.
// params: $user_id (string), $realtime (bool), $max_likes (int)
// returns: user_id, created_at, active_hour, has_embedding, interests, liked_tags, follows,
//   skipped_creators (net skips per creator: skips minus twice the views), communities,
//   seen (list of video ids)
MATCH (u:User {id: $user_id})
CALL (u) {
  OPTIONAL MATCH (u)-[l:LIKED]->(v:Video)
  WHERE $realtime OR l.event_id IS NULL
  WITH v, l ORDER BY l.at DESC, v.id LIMIT $max_likes
  OPTIONAL MATCH (v)-[:TAGGED]->(t:Tag)
  WITH t.id AS tag, count(*) AS n WHERE tag IS NOT NULL
  RETURN collect({tag: tag, n: n}) AS liked_tags
}
CALL (u) {
  // Net skips per creator: a skip counts against the creator, a watched video of theirs
  // counts twice for them (a creator you also watch is not one you dislike).
  OPTIONAL MATCH (u)-[:SKIPPED]->(:Video)<-[:POSTED]-(c:Creator)
  WHERE $realtime
  WITH u, c, count(*) AS skips WHERE c IS NOT NULL
  WITH c.id AS creator,
       skips - 2 * COUNT { (u)-[:VIEWED]->(:Video)<-[:POSTED]-(c) } AS n
  WHERE n > 0
  RETURN collect({creator: creator, n: n}) AS skipped_creators
}
RETURN u.id AS user_id, u.created_at AS created_at, u.active_hour AS active_hour,
       CASE WHEN $realtime THEN coalesce(u.online_embedding, u.embedding) IS NOT NULL
            ELSE u.embedding IS NOT NULL END AS has_embedding,
       [(u)-[i:INTERESTED_IN]->(t:Tag) WHERE $realtime OR i.declared |
        {tag: t.id, weight: CASE WHEN $realtime THEN toFloat(coalesce(i.weight, 1.0))
                                 ELSE 1.0 END,
         declared: coalesce(i.declared, false)}] AS interests,
       liked_tags,
       [(u)-[:FOLLOWS]->(c:Creator) | c.id] AS follows,
       skipped_creators,
       [(u)-[m:MEMBER_OF]->(c:Community) | {id: c.id, label: c.label, score: m.score}]
         AS communities,
       COLLECT { MATCH (u)-[:SAW]->(v:Video) RETURN DISTINCT v.id } AS seen
