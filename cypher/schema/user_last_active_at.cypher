// Users by last activity: "active users" for cold-start exposure.
// params: (none)
// returns: (nothing)
CREATE INDEX user_last_active_at IF NOT EXISTS FOR (u:User) ON (u.last_active_at)
