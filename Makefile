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

# The API and web UI on the SQLite default (./handoff.db), with the demo's orgs, people and stories.
run: $(STAMP)
	$(VENV)/bin/handoff db upgrade
	$(VENV)/bin/handoff demo
	$(VENV)/bin/handoff serve --host 127.0.0.1 --port 8000

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
