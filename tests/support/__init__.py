"""Test scaffolding: small deterministic worlds built through the loader's queries."""
