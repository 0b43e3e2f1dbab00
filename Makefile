# The two commands of the README. Everything they need is installed here, from PyPI and
# Maven Central, into .venv (uv keeps a cache, so a fresh clone installs in seconds).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(UV):
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(STAMP): pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job end to end: start Neo4j, load a world, train, serve.
demo: $(STAMP)
	$(VENV)/bin/graphrec demo $(ARGS)

## The test suite against a real Neo4j (NEO4J_URI, else Docker, else a local server).
test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check graphrec api tests
	$(VENV)/bin/ruff format --check graphrec api tests

clean:
	rm -rf $(VENV) out .pytest_cache
