"""One place for everything configurable: environment variables with the ``GRAPHREC_`` prefix.

The Neo4j connection also honours the conventional ``NEO4J_URI`` / ``NEO4J_USER`` /
``NEO4J_PASSWORD`` variables, so any Neo4j tooling's environment works unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_PASSWORD = "graphrec-dev-password"


def _default_home() -> Path:
    return Path.home() / ".graphrec"


class Settings(BaseSettings):
    """graphrec's settings; every field reads ``GRAPHREC_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="GRAPHREC_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # --- Neo4j connection -------------------------------------------------------------
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_URI", "GRAPHREC_NEO4J_URI")
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "GRAPHREC_NEO4J_USER")
    )
    neo4j_password: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_PASSWORD),
        validation_alias=AliasChoices("NEO4J_PASSWORD", "GRAPHREC_NEO4J_PASSWORD"),
    )
    neo4j_database: str = "neo4j"
    neo4j_max_pool_size: int = 100
    neo4j_connection_timeout_s: float = 5.0
    # How a server is found when neo4j_uri is unset: docker (testcontainers) then local.
    neo4j_backend: Literal["auto", "docker", "local"] = "auto"
    neo4j_image: str = "neo4j:5.26"

    # --- the locally launched server ----------------------------------------------------
    home: Path = Field(default_factory=_default_home)
    local_host: str = "127.0.0.1"
    local_bolt_port: int = 7687
    local_heap: str = "1g"
    local_pagecache: str = "512m"
    local_tx_memory: str = "768m"
    local_start_timeout_s: float = 120.0
    java: str = "java"
    mvn: str = "mvn"

    # --- world generation and loading ---------------------------------------------------
    load_batch_size: int = 10_000

    # --- learning -------------------------------------------------------------------------
    embedding_dim: int = 64

    # --- analysts' queries (graphrec cypher, graphrec/analyst.py) --------------------------
    analyst_timeout_s: float = 30.0  # each analyst query runs in a read transaction this long

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if (
            self.environment == "production"
            and self.neo4j_password.get_secret_value() == PLACEHOLDER_PASSWORD
        ):
            raise ValueError(
                "GRAPHREC_NEO4J_PASSWORD (or NEO4J_PASSWORD) must be set in production; "
                "the built-in development password is refused"
            )
        return self

    @property
    def local_dir(self) -> Path:
        """State of the locally launched server: jars, data, logs, pid."""
        return self.home / "neo4j"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()


def parse_size(text: str) -> int:
    """Bytes in a memory size such as ``512m``, ``1g`` or ``1048576``."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)
