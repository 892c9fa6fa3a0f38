# Everything runs from a local virtualenv, made on first use and refreshed when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint fmt bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The API and web UI on the SQLite default (./handoff.db), with the demo's orgs, people and stories,
# on HOST:PORT (`make run PORT=8731`); the demo's links point there, or at HANDOFF_PUBLIC_URL.
HOST ?= 127.0.0.1
PORT ?= 8000
LINK_HOST = $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
PUBLIC_URL = $(or $(HANDOFF_PUBLIC_URL),http://$(LINK_HOST):$(PORT))

run: $(STAMP)
	$(VENV)/bin/handoff db upgrade
	$(VENV)/bin/handoff demo --base-url '$(PUBLIC_URL)'
	$(VENV)/bin/handoff serve --host '$(HOST)' --port '$(PORT)'

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@if [ -d bench ]; then $(VENV)/bin/python -m bench; else echo "no bench/ folder yet"; fi

# Caches and build output only: the virtualenv and any handoff.db stay.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
