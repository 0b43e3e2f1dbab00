// Feed source "blend": when the stored blend ((:Model {id: 'blend'}), written by training)
// last changed, and when the videos' spectral vectors last did ((:Model {id: 'spectral'}),
// written with them by learn.spectral.write_spectral; changed_at by admin/drop_stale_vectors).
// The source reloads its weights and statistics only when trained_at moves, and keeps its
// copies of the videos' spectral vectors only while spectral_at and spectral_changed_at stay.
// params: (none)
// returns: trained_at (int), spectral_at (int or null), spectral_changed_at (int or null)
MATCH (m:Model {id: 'blend'})
OPTIONAL MATCH (s:Model {id: 'spectral'})
RETURN m.trained_at AS trained_at, s.trained_at AS spectral_at,
       s.changed_at AS spectral_changed_at
