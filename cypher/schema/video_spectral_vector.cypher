// Nearest-neighbour retrieval of videos by the graph filter's low-rank part (the feed's
// "spectral" source): unit-length keys augmented for maximum inner product search, so the
// cosine orders videos as the filter's dot product does (graphrec/learn/spectral.py).
// Quantization is off: int8 keys reorder videos whose scores differ by less than its step.
// The dimension (2 * GRAPHREC_SPECTRAL_RANK + 1) is substituted for $spectral_dim.
// params: $spectral_dim (int, substituted)
// returns: (nothing)
CREATE VECTOR INDEX video_spectral IF NOT EXISTS
FOR (v:Video) ON (v.spectral_key)
OPTIONS {indexConfig: {`vector.dimensions`: $spectral_dim, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false}}
