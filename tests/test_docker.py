"""docker/: the compose file's structure and the Dockerfile's shape, checked without an engine.

No Docker engine runs on these machines, so nothing here builds or starts a container. The
compose file is read as YAML and held to what deployment needs; where the ``docker compose``
plugin is installed, ``docker compose config`` validates it as well (skipped otherwise).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from graphrec.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
ENV = {"NEO4J_PASSWORD": "a-real-password", "GRAPHREC_API_KEY": "a-real-key"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _command(service: dict[str, Any]) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def _condition(service: dict[str, Any], on: str) -> str | None:
    deps = service.get("depends_on", {})
    return deps.get(on, {}).get("condition") if isinstance(deps, dict) else None


def test_neo4j_service(compose: dict[str, Any]) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26"
    assert "apoc" in neo4j["environment"]["NEO4J_PLUGINS"]
    assert neo4j["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD")
    check = " ".join(neo4j["healthcheck"]["test"])
    assert "cypher-shell" in check and "RETURN 1" in check
    mounts = {m.split(":")[1]: m.split(":")[0] for m in neo4j["volumes"]}
    assert mounts["/data"] in compose["volumes"], "Neo4j's data lives in a named volume"


def test_redis_service_keeps_an_append_only_file(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7"
    cmd = " ".join(redis["command"])
    assert "--appendonly yes" in cmd and "--appendfsync" in cmd
    assert "noeviction" in cmd  # online state and the stream must never be evicted
    mounts = {m.split(":")[1]: m.split(":")[0] for m in redis["volumes"]}
    assert mounts["/data"] in compose["volumes"]
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    for name in ("api", "init"):
        service = compose["services"][name]
        assert _condition(service, "redis") == "service_healthy", name
        assert service["environment"]["GRAPHREC_REDIS_URL"] == "redis://redis:6379/0"


def test_api_waits_for_a_healthy_neo4j_and_migrates(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert _condition(api, "neo4j") == "service_healthy"
    context = (DOCKER / api["build"]["context"]).resolve()
    assert context == ROOT and (context / api["build"]["dockerfile"]).is_file()
    cmd = _command(api)
    assert cmd.index("graphrec db migrate") < cmd.index("graphrec serve")
    assert "--host 0.0.0.0" in cmd
    assert "healthcheck" in api
    assert api["environment"]["NEO4J_URI"] == "neo4j://neo4j:7687"


def test_init_job_loads_a_world_and_trains(compose: dict[str, Any]) -> None:
    init = compose["services"]["init"]
    assert init["restart"] == "no"
    assert _condition(init, "neo4j") == "service_healthy"
    assert _condition(init, "api") == "service_healthy"  # after the API's migrations
    assert init["image"] == compose["services"]["api"]["image"]
    cmd = _command(init)
    assert re.search(r"graphrec world load --size \S+", cmd)
    assert cmd.index("graphrec world load") < cmd.index("graphrec train")
    assert cmd.index("graphrec train") < cmd.index("graphrec communities")


def test_configuration_is_environment_only(compose: dict[str, Any]) -> None:
    """Every GRAPHREC_* variable the services get is a Settings field; no config files."""
    fields = {f"GRAPHREC_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "init"):
        service = compose["services"][name]
        assert "env_file" not in service and "configs" not in service
        env = service["environment"]
        unknown = {k for k in env if k.startswith("GRAPHREC_")} - fields
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        assert {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD"} <= set(env)
        for mount in service.get("volumes", []):
            assert mount.split(":")[0] in compose["volumes"], f"{name}: {mount} is not a volume"
    secrets = compose["services"]["api"]["environment"]
    assert secrets["NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD:?")  # required, no default
    assert secrets["GRAPHREC_API_KEY"].startswith("${GRAPHREC_API_KEY:?")


def _stages(dockerfile: str) -> list[str]:
    return re.split(r"(?m)^FROM\s", dockerfile)[1:]


def test_dockerfile_is_multistage_slim_and_non_root() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    stages = _stages(text)
    assert len(stages) >= 2, "a build stage and a runtime stage"
    final = stages[-1]
    assert final.split()[0].endswith("-slim") or "-slim" in final.splitlines()[0]
    assert re.search(r"(?m)^USER\s+(?!root\b|0\b)\S+", final), "the runtime runs as a non-root user"
    for tool in ("build-essential", "gcc", "apt-get install", "pip install", "uv pip"):
        assert tool not in final, f"no build tools in the final image ({tool})"
    assert "COPY --from=build /opt/venv" in final
    assert "HEALTHCHECK" in final and "/health" in final
    for src in re.findall(r"(?m)^COPY\s+(?!--from)(\S+)", text):
        assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
    # The context is the repository root: everything is excluded, then only what the image
    # needs is let back in (never .venv, out/ or the local Neo4j's state).
    rules = [
        line.strip()
        for line in (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    assert {r for r in rules if r.startswith("!")} == {
        "!pyproject.toml",
        "!README.md",
        "!graphrec/",
        "!api/",
        "!cypher/",
    }


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_config_validates() -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("the docker compose plugin is not installed here")
    env = {**os.environ, **ENV}
    done = subprocess.run(
        [*cli, "-f", str(DOCKER / "compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=DOCKER,
    )
    assert done.returncode == 0, done.stderr
    missing = {k: v for k, v in env.items() if k != "NEO4J_PASSWORD"}
    refused = subprocess.run(
        [*cli, "-f", str(DOCKER / "compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=missing,
        cwd=DOCKER,
    )
    assert refused.returncode != 0 and "NEO4J_PASSWORD" in refused.stderr


def test_compose_commands_exist_in_the_cli(compose: dict[str, Any]) -> None:
    """Every `graphrec ...` command the services run is a real command with those options."""
    from typer.testing import CliRunner

    from graphrec.cli import app

    found = []
    for service in compose["services"].values():
        for part in _command(service).split("&&"):
            words = part.replace("exec ", "").split()
            if "graphrec" in words:
                found.append(words[words.index("graphrec") + 1 :])
    assert found
    runner = CliRunner()
    for words in found:
        first_option = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        command = words[:first_option]  # `db migrate`, `world load`, `serve`, `train`
        help_text = runner.invoke(app, [*command, "--help"])
        assert help_text.exit_code == 0, f"graphrec {' '.join(command)}: {help_text.output}"
        for option in (w for w in words if w.startswith("--")):
            assert option in help_text.output, f"graphrec {' '.join(command)} has no {option}"
