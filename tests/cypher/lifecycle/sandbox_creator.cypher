// A creator's account state.
// params: $creator_id (string)
// returns: creator_id, account_score, rejections, strikes
MATCH (c:Creator {id: $creator_id})
RETURN c.id AS creator_id, c.account_score AS account_score,
       coalesce(c.rejections, 0) AS rejections, c.strikes AS strikes
