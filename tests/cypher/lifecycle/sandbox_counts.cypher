// Node and relationship totals (tests check that a refused upload stored nothing).
// params: (none)
// returns: nodes, relationships, videos, tags, categories
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (v:Video) RETURN count(v) AS videos }
CALL () { MATCH (t:Tag) RETURN count(t) AS tags }
CALL () { MATCH (c:Category) RETURN count(c) AS categories }
RETURN nodes, relationships, videos, tags, categories
