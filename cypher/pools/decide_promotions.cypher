// The pool cycle's promotion rule for one pool. A video is decided when its budget is spent
// (served >= budget) or it has sat in the pool $max_age_ms. It is scored from its engagement
// rates and its creator's account score:
//   score = ( view*views + completion*completions + like*likes + comment*comments
//             + share*shares + follow*follows ) / (impressions + prior)
//           + account * creator.account_score          (weights: $weights)
// Its cohort is its pool and its entry window (IN_POOL.since / $window_ms: the day it entered,
// by default) among the videos decided so far. In each cohort the top floor(size * $share)
// move to $next with reason $reason (at least one when the cohort has $min_cohort videos),
// the rest settle in the long tail.
// Small cohorts pool across cycles: a cohort of fewer than $min_cohort decided videos waits
// (its videos stay in the pool, their spent budgets serve nothing more) until more of its
// videos are decided, unless one of them has sat in the pool $max_age_ms (then it is decided
// as it is); meanwhile each of its videos whose score clears the absolute bar $min_score
// moves up at once (a lone strong video is not held back by a small world), the others wait.
// Ranking: score descending; ties broken by earlier upload (created_at), then smaller id, so
// the promoted count is exact and the choice is deterministic.
// params: $pool (string), $next (string), $reason (string), $now (int, epoch ms),
//   $max_age_ms (int), $window_ms (int), $share (float), $min_cohort (int),
//   $min_score (float), $weights (map: view, completion, like, comment, share, follow,
//   account, prior)
// returns: video_id, from_pool, to_pool, reason, score, cohort, cohort_size, rank
MATCH (:Pool {id: $pool})<-[r:IN_POOL]-(v:Video)
WHERE v.status = 'approved'
  AND (coalesce(r.served, 0) >= r.budget OR r.since <= $now - $max_age_ms)
MATCH (c:Creator)-[:POSTED]->(v)
WITH v, r,
     ($weights.view * coalesce(v.views, 0) + $weights.completion * coalesce(v.completions, 0)
      + $weights.like * coalesce(v.likes, 0) + $weights.comment * coalesce(v.comments, 0)
      + $weights.share * coalesce(v.shares, 0) + $weights.follow * coalesce(v.follows, 0))
     / (coalesce(v.impressions, 0) + $weights.prior)
     + $weights.account * coalesce(c.account_score, 0.5) AS score
WITH r.since / $window_ms AS cohort, v, score, r.since <= $now - $max_age_ms AS aged
ORDER BY cohort, score DESC, v.created_at ASC, v.id ASC
WITH cohort, collect({id: v.id, score: score}) AS members,
     sum(CASE WHEN aged THEN 1 ELSE 0 END) > 0 AS any_aged
WITH cohort, size(members) >= $min_cohort OR any_aged AS whole, members
WITH cohort, whole,
     CASE WHEN whole THEN members ELSE [m IN members WHERE m.score >= $min_score] END AS members
WHERE size(members) > 0
WITH cohort, whole, members, toInteger(floor(size(members) * $share + 1.0e-9)) AS k
WITH cohort, members,
     CASE
       WHEN NOT whole THEN size(members)
       WHEN k < 1 AND size(members) >= $min_cohort THEN 1
       ELSE k
     END AS k
UNWIND range(0, size(members) - 1) AS i
RETURN members[i].id AS video_id, $pool AS from_pool,
       CASE WHEN i < k THEN $next ELSE 'long_tail' END AS to_pool,
       CASE WHEN i < k THEN $reason ELSE 'settled' END AS reason,
       members[i].score AS score, cohort, size(members) AS cohort_size, i + 1 AS rank
