// Writes item-to-item neighbours: for each video, its nearest videos by co-engagement
// (EASE weight or cosine), as (v)-[:SIMILAR {score, rank, method}]->(n), best first.
// params: $rows (list of {id: string, to: list of string, scores: list of float}),
//   $method (string: ease | item_knn)
// returns: written (int)
UNWIND $rows AS row
MATCH (v:Video {id: row.id})
UNWIND range(0, size(row.to) - 1) AS i
MATCH (n:Video {id: row.to[i]})
CREATE (v)-[s:SIMILAR {score: row.scores[i], rank: i, method: $method}]->(n)
RETURN count(s) AS written
