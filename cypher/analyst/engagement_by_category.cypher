// Engagement rates by category: totals of the video counters over approved videos uploaded
// since $since (a video with tags in several categories counts in each), and the rates an
// analyst compares: views per impression, completions, likes, comments and shares per view.
// params: $since (int, epoch ms: videos created at or after)
// defaults: $since = 0
// returns: category, videos, impressions, views, view_rate, completion_rate, like_rate,
//   comment_rate, share_rate, avg_watch_ms
MATCH (cat:Category)<-[:IN]-(:Tag)<-[:TAGGED]-(v:Video)
WHERE v.status = 'approved' AND v.created_at >= $since
WITH DISTINCT cat, v
WITH cat, count(v) AS videos, sum(v.impressions) AS impressions, sum(v.views) AS views,
     sum(v.completions) AS completions, sum(v.likes) AS likes, sum(v.comments) AS comments,
     sum(v.shares) AS shares, sum(v.watch_ms) AS watch_ms
RETURN cat.id AS category, videos, impressions, views,
       CASE WHEN impressions > 0 THEN toFloat(views) / impressions END AS view_rate,
       CASE WHEN views > 0 THEN toFloat(completions) / views END AS completion_rate,
       CASE WHEN views > 0 THEN toFloat(likes) / views END AS like_rate,
       CASE WHEN views > 0 THEN toFloat(comments) / views END AS comment_rate,
       CASE WHEN views > 0 THEN toFloat(shares) / views END AS share_rate,
       CASE WHEN views > 0 THEN toFloat(watch_ms) / views END AS avg_watch_ms
ORDER BY like_rate DESC, category;
