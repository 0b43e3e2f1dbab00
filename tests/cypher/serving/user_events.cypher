// A user's interaction relationships with videos (every type), with the ids and times they
// carry: what the graph writer stored for the user's events and served feeds.
// params: $user_id (string)
// returns: type, video_id, event_id, served_id, at
MATCH (:User {id: $user_id})-[r]->(v:Video)
RETURN type(r) AS type, v.id AS video_id, r.event_id AS event_id, r.served_id AS served_id,
       r.at AS at
ORDER BY type, video_id, at
