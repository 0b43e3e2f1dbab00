// Cold-start videos a user may be shown: approved, in the cold_start pool with budget left,
// not yet seen (SAW) by the user, loosely matched to the user's tags. The match is the sum,
// over the video's tags, of the user's INTERESTED_IN weight plus 0.25 per like (of the last
// 50) on a video with that tag; unmatched videos still come (match 0), so a user with no
// history (or an unknown id) gets cold-start videos too. Order: best match, then the videos
// furthest from their budget (fair exposure: every new video gets its 200-300 impressions),
// then id.
// params: $user_id (string), $limit (int, default 50)
// returns: video_id, creator_id, tags, remaining, match
OPTIONAL MATCH (u:User {id: $user_id})
CALL (u) {
  OPTIONAL MATCH (u)-[i:INTERESTED_IN]->(t:Tag)
  WITH t.id AS tag, coalesce(i.weight, 0.0) AS w WHERE tag IS NOT NULL
  RETURN collect({tag: tag, w: toFloat(w)}) AS declared
}
CALL (u) {
  OPTIONAL MATCH (u)-[l:LIKED]->(lv:Video)
  WITH lv, l ORDER BY l.at DESC, lv.id LIMIT 50
  OPTIONAL MATCH (lv)-[:TAGGED]->(t:Tag)
  WITH t.id AS tag, count(*) AS n WHERE tag IS NOT NULL
  RETURN collect({tag: tag, w: 0.25 * n}) AS liked
}
WITH u, declared + liked AS weights
MATCH (:Pool {id: 'cold_start'})<-[r:IN_POOL]-(v:Video)
WHERE r.served < r.budget AND v.status = 'approved'
  AND (u IS NULL OR NOT EXISTS { (u)-[:SAW]->(v) })
WITH v, r, weights, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags
WITH v, r, tags,
     reduce(s = 0.0, x IN weights | s + CASE WHEN x.tag IN tags THEN x.w ELSE 0.0 END) AS match
ORDER BY match DESC, toFloat(r.served) / r.budget ASC, v.id ASC
LIMIT coalesce($limit, 50)
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, tags, r.budget - r.served AS remaining,
       match
