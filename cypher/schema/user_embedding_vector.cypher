// Nearest-neighbour retrieval of users ("users like this user") by learned embedding.
// params: $embedding_dim (int, substituted)
// returns: (nothing)
CREATE VECTOR INDEX user_embedding IF NOT EXISTS
FOR (u:User) ON (u.embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $embedding_dim, `vector.similarity_function`: 'cosine'}}
