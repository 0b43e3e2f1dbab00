// Feed source "blend": when the stored blend ((:Model {id: 'blend'}), written by training)
// last changed; the source reloads its weights and statistics only when this moves.
// params: (none)
// returns: trained_at (int)
MATCH (m:Model {id: 'blend'})
RETURN m.trained_at AS trained_at
