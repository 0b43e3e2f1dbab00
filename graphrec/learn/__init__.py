"""Guess what you like: graph embeddings, graph filters, evaluation and interest communities.

``export`` reads the interaction graph out of Neo4j, ``model`` is the torch-geometric LightGCN
(no I/O), ``train`` fits it, ``filters`` holds training-free graph filters (GF-CF, BSPM-style),
``metrics`` the LightGCN-paper Recall/NDCG, ``writeback`` puts embeddings back into Neo4j and
``communities`` groups users with networkx.
"""
