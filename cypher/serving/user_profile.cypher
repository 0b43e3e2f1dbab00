// A user's profile page: fields, strongest tag interests (declared or learned from events),
// communities, follows and activity counts, embedding state. No row: unknown user.
// params: $user_id (string), $top (int)
// returns: user_id, name, created_at, last_active_at, active_hour, is_creator, interests,
//   communities, follows, seen, liked, skipped, has_embedding, has_online_embedding
MATCH (u:User {id: $user_id})
CALL (u) {
  OPTIONAL MATCH (u)-[i:INTERESTED_IN]->(t:Tag)
  WITH t, i ORDER BY i.weight DESC, t.id LIMIT $top
  WITH t, i WHERE t IS NOT NULL
  RETURN collect({tag: t.id, weight: i.weight, declared: coalesce(i.declared, false)})
    AS interests
}
RETURN u.id AS user_id, u.name AS name, u.created_at AS created_at,
       u.last_active_at AS last_active_at, u.active_hour AS active_hour,
       u:Creator AS is_creator, interests,
       [(u)-[m:MEMBER_OF]->(c:Community) |
        {id: c.id, label: c.label, size: c.size, top_tags: c.top_tags, score: m.score}]
         AS communities,
       [(u)-[:FOLLOWS]->(c:Creator) | c.id][..100] AS follows,
       COUNT { (u)-[:SAW]->() } AS seen, COUNT { (u)-[:LIKED]->() } AS liked,
       COUNT { (u)-[:SKIPPED]->() } AS skipped,
       u.embedding IS NOT NULL AS has_embedding,
       u.online_embedding IS NOT NULL AS has_online_embedding
