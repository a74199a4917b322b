# Flightdeck: `make run` starts everything embedded, `make test` runs the checks CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck pytest faults screenshots bench clean venv dev-venv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Flightdeck needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-run
dev-venv: $(VENV)/.installed-dev

## run: start the embedded Temporal dev server, the backend and the TUI
run: venv
	$(BIN)/flightdeck

## test: lint, format check, type check and the test suite (what CI runs)
test: dev-venv lint typecheck pytest

lint: dev-venv
	$(BIN)/ruff check backend tui tests screenshots bench
	$(BIN)/ruff format --check backend tui tests screenshots bench

typecheck: dev-venv
	$(BIN)/mypy

pytest: dev-venv
	$(BIN)/python -m pytest -q

## faults: the fault suite, long version (20 seeded worker kills, a 10 s SQLite write lock);
## make test runs a short version (FLIGHTDECK_FAULT_RUNS=3, seed FLIGHTDECK_FAULT_SEED)
faults: dev-venv
	FLIGHTDECK_FAULT_RUNS=20 $(BIN)/python -m pytest -q -m faults tests/faults -p no:cacheprovider

## screenshots: regenerate screenshots/*.svg and *.png from the running app
screenshots: dev-venv
	$(BIN)/python screenshots/capture.py

## bench: time the per-host placement feed (one host with 1,000 deployments); prints a table
bench: dev-venv
	$(BIN)/python bench/placement_feed.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
