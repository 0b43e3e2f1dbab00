// Records what a training run chose for a served model (e.g. the item-to-item source's
// recency scale), where the feed's queries read it: (:Model {id}) with the given properties.
// params: $id (string), $props (map)
// returns: id
MERGE (m:Model {id: $id})
SET m += $props
RETURN m.id AS id
