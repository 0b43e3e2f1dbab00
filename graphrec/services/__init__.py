"""How graphrec reaches the servers it runs on (Neo4j, Redis)."""
