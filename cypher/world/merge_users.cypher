// Creates or updates users with their profile fields.
// params: $rows (list of {id, name, created_at, last_active_at, active_hour})
// returns: users (int)
UNWIND $rows AS row
MERGE (u:User {id: row.id})
SET u.name = row.name, u.created_at = row.created_at, u.active_hour = row.active_hour,
    u.last_active_at = CASE WHEN u.last_active_at > row.last_active_at
                            THEN u.last_active_at ELSE row.last_active_at END
RETURN count(u) AS users
