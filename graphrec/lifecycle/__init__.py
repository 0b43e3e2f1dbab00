"""The content lifecycle: tagging, audit, upload, traffic pools and the pool cycle.

Python orchestrates and Cypher decides: every rule about which video belongs in which pool is
a query in ``cypher/pools/`` or ``cypher/lifecycle/``, run with parameters from Settings.
"""
