// Compares each video's engagement counters with its relationships (a consistency check).
// params: (none)
// returns: id, impressions, saw, likes, liked
MATCH (v:Video)
RETURN v.id AS id, v.impressions AS impressions, COUNT { (v)<-[:SAW]-() } AS saw,
       v.likes AS likes, COUNT { (v)<-[:LIKED]-() } AS liked
