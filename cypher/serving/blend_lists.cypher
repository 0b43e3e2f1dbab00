// Feed source "blend", the lists part: for every video the history's item-to-item lists
// (SIMILAR, written at training) reach, the sum of its entries over the history (each
// engagement counting alike, as the served score defines it).
// params: $history (list of video ids)
// returns: video_id, lists (float)
UNWIND $history AS hid
MATCH (:Video {id: hid})-[s:SIMILAR]->(v:Video)
RETURN v.id AS video_id, sum(s.score) AS lists
