// Feed source "blend": the stored spectral query and key vectors of the videos $ids (null
// where a video has none), for those the source does not hold a copy of yet.
// params: $ids (list of video ids)
// returns: video_id, query (list of float or null), key (list of float or null)
UNWIND $ids AS vid
MATCH (v:Video {id: vid})
RETURN v.id AS video_id, v.spectral_query AS query, v.spectral_key AS key
