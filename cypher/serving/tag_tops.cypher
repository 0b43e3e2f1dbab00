// The shared candidate lists of the "interest" source: for every tag, its $per_tag best
// servable videos (approved, in a pool; best engagement per impression, newer first on ties),
// with creator, tags and length. One scan for all tags; the feed caches the result for a few
// seconds (every worker alike) and drops each user's seen videos itself.
// params: $per_tag (int)
// returns: tag, videos (list of {video_id, creator_id, tags, quality, duration_ms})
MATCH (t:Tag)<-[:TAGGED]-(v:Video)-[:IN_POOL]->(:Pool)
WHERE v.status = 'approved'
WITH t, v,
     (coalesce(v.likes, 0) + 2.0 * coalesce(v.shares, 0) + coalesce(v.completions, 0))
       / (coalesce(v.impressions, 0) + 10.0) AS quality
ORDER BY quality DESC, v.created_at DESC, v.id
WITH t, collect({v: v, quality: quality})[..$per_tag] AS best
UNWIND best AS x
WITH t, x.v AS v, x.quality AS quality
MATCH (c:Creator)-[:POSTED]->(v)
WITH t, collect({video_id: v.id, creator_id: c.id, quality: quality,
                 duration_ms: v.duration_ms, tags: COLLECT { MATCH (v)-[:TAGGED]->(tt:Tag) RETURN tt.id ORDER BY tt.id }})
                 AS videos
RETURN t.id AS tag, videos
