// Creator-page spillover: a video passes the virality threshold when it has at least
// $min_impressions impressions and scores at least $min_score (the cycle's score formula).
// Each viral video spills once (it is marked spilled_at when applied); its creator's older
// approved videos then get a spillover boost.
// params: $min_impressions (int), $min_score (float), $weights (map, see decide_promotions)
// returns: video_id, creator_id, score, older
MATCH (v:Video)
WHERE coalesce(v.impressions, 0) >= $min_impressions AND v.status = 'approved'
  AND v.spilled_at IS NULL
MATCH (c:Creator)-[:POSTED]->(v)
WITH v, c,
     ($weights.view * coalesce(v.views, 0) + $weights.completion * coalesce(v.completions, 0)
      + $weights.like * coalesce(v.likes, 0) + $weights.comment * coalesce(v.comments, 0)
      + $weights.share * coalesce(v.shares, 0) + $weights.follow * coalesce(v.follows, 0))
     / (coalesce(v.impressions, 0) + $weights.prior)
     + $weights.account * coalesce(c.account_score, 0.5) AS score
WHERE score >= $min_score
RETURN v.id AS video_id, c.id AS creator_id, score,
       COUNT { (c)-[:POSTED]->(o:Video) WHERE o.created_at < v.created_at } AS older
ORDER BY video_id
