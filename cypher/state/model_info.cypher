// What a training run chose for a served model ((:Model {id}), e.g. the item-to-item
// source's recency scale). No row: never trained.
// params: $id (string)
// returns: props (map)
MATCH (m:Model {id: $id})
RETURN properties(m) AS props
