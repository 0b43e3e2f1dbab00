// A creator's page: account (followers, strikes, account score), verticals (VERTICAL tags),
// video totals, the newest $recent videos with pool and counters, and spillover: videos of
// this creator lifted by one of their hits (spillover_boost, spillover_from). No row: unknown.
// params: $creator_id (string), $recent (int)
// returns: creator_id, name, followers, strikes, account_score, joined_at, is_user, verticals,
//   videos, approved, rejected, total_impressions, total_likes, recent, spillover
MATCH (c:Creator {id: $creator_id})
CALL (c) {
  OPTIONAL MATCH (c)-[:POSTED]->(v:Video)
  RETURN count(v) AS videos, count(CASE WHEN v.status = 'approved' THEN 1 END) AS approved,
         count(CASE WHEN v.status = 'rejected' THEN 1 END) AS rejected,
         sum(coalesce(v.impressions, 0)) AS total_impressions,
         sum(coalesce(v.likes, 0)) AS total_likes
}
CALL (c) {
  OPTIONAL MATCH (c)-[:POSTED]->(v:Video)
  WITH v ORDER BY v.created_at DESC LIMIT $recent
  WITH v WHERE v IS NOT NULL
  OPTIONAL MATCH (v)-[:IN_POOL]->(p:Pool)
  RETURN collect({video_id: v.id, caption: v.caption, status: v.status, pool: p.id,
                  created_at: v.created_at, impressions: coalesce(v.impressions, 0),
                  likes: coalesce(v.likes, 0), score: v.score}) AS recent
}
CALL (c) {
  OPTIONAL MATCH (c)-[:POSTED]->(v:Video)
  WHERE coalesce(v.spillover_boost, 0) > 0
  WITH v ORDER BY v.spillover_at DESC LIMIT 50
  WITH v WHERE v IS NOT NULL
  RETURN collect({video_id: v.id, boost: v.spillover_boost, from: v.spillover_from,
                  at: v.spillover_at}) AS spillover
}
RETURN c.id AS creator_id, c.name AS name, coalesce(c.followers, 0) AS followers,
       coalesce(c.strikes, 0) AS strikes, c.account_score AS account_score,
       c.joined_at AS joined_at, c:User AS is_user,
       [(c)-[r:VERTICAL]->(t:Tag) | {tag: t.id, share: r.share, since: r.since}] AS verticals,
       videos, approved, rejected, total_impressions, total_likes, recent, spillover
