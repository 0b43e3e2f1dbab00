// The graph writer's other half of serving/update_profiles: each user's online embedding
// steps towards (or away from) the events' videos' embeddings,
// normalise(normalise(base) + $rate * sum(w * normalise(video))), base the online embedding,
// else the learned one, else zero; the same arithmetic in the same order (the events' order)
// as serving/update_profiles. Events on videos without an embedding (every video, before a
// model is trained) drop out before the user is looked up.
// params: $rows (list of {user_id, at, items: list of {video_id, w}, one per event in order}),
//   $rate (float)
// returns: embedded (users whose online embedding moved)
UNWIND $rows AS row
UNWIND row.items AS it
MATCH (v:Video {id: it.video_id})
WHERE v.embedding IS NOT NULL AND it.w <> 0
WITH row.user_id AS uid, row.at AS at, it.w AS w, v.embedding AS e
WITH uid, at, w, e, sqrt(reduce(s = 0.0, x IN e | s + x * x)) AS n
WHERE n > 0
WITH uid, at, collect({w: w / n, e: e}) AS xs
MATCH (u:User {id: uid})
WITH u, at, xs, coalesce(u.online_embedding, u.embedding) AS base
WITH u, at, xs, base, CASE WHEN base IS NULL THEN 0.0
                            ELSE sqrt(reduce(s = 0.0, x IN base | s + x * x)) END AS bn
WITH u, at, [i IN range(0, size(xs[0].e) - 1) |
     CASE WHEN bn > 0 THEN base[i] / bn ELSE 0.0 END
     + $rate * reduce(s = 0.0, x IN xs | s + x.w * x.e[i])] AS raw
WITH u, at, raw, sqrt(reduce(s = 0.0, x IN raw | s + x * x)) AS rn
WHERE rn > 0
SET u.online_embedding = [x IN raw | x / rn], u.online_at = at
RETURN count(*) AS embedded
