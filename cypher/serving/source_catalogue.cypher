// Feed source "catalogue" (shared by every user): the best servable videos of the whole
// catalogue by engagement per impression, whatever their pool. It fills a feed when the
// other sources run dry (a user who has seen the pools and their tags' best videos).
// params: $limit (int)
// returns: video_id, creator_id, tags, score, duration_ms, quality, via
MATCH (v:Video)-[:IN_POOL]->(p:Pool)
WHERE v.status = 'approved'
WITH v, p,
     (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
       / (coalesce(v.impressions, 0) + 10.0) AS quality
ORDER BY quality DESC, v.id LIMIT $limit
MATCH (c:Creator)-[:POSTED]->(v)
RETURN v.id AS video_id, c.id AS creator_id, COLLECT { MATCH (v)-[:TAGGED]->(t:Tag) RETURN t.id ORDER BY t.id } AS tags,
       quality AS score, v.duration_ms AS duration_ms, quality, p.id AS via
