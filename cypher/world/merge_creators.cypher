// Creates or updates creators with their account state.
// params: $rows (list of {id, name, followers, strikes, joined_at, account_score})
// returns: creators (int)
UNWIND $rows AS row
MERGE (c:Creator {id: row.id})
SET c.name = row.name, c.followers = row.followers, c.strikes = row.strikes,
    c.joined_at = row.joined_at, c.account_score = coalesce(c.account_score, row.account_score)
RETURN count(c) AS creators
