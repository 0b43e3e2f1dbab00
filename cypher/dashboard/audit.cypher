// The dashboard's audit panel: how many uploads the audit rejected, and the most common
// reasons with how many rejections gave each.
// params: $limit (int, how many reasons)
// returns: rejected, reasons (list of {reason, videos})
CALL () {
  MATCH (v:Video {status: 'rejected'})
  RETURN count(v) AS rejected
}
CALL () {
  MATCH (v:Video {status: 'rejected'})
  UNWIND coalesce(v.reasons, ['(no reason kept)']) AS reason
  WITH reason, count(*) AS videos
  ORDER BY videos DESC, reason
  LIMIT $limit
  RETURN collect({reason: reason, videos: videos}) AS reasons
}
RETURN rejected, reasons
