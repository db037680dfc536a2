# Two commands do all the set-up: `make demo` runs the main job, `make test` runs the tests.
# Both create (or reuse) the virtual environment in .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-dates lint check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/connector demo

check: $(STAMP)
	$(BIN)/connector check --config config.example.toml

test: $(STAMP)
	$(BIN)/python -m pytest

# What `make test` leaves out (`-m 'not slow'` in pyproject.toml): every kill point, real daemon processes.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# The end-to-end tests again at a month's first minutes and at New Year's Eve (tests/clock.py reads TESTS_FROZEN_AT).
test-dates: $(STAMP)
	TESTS_FROZEN_AT=2027-01-01T00:30:00+00:00 $(BIN)/python -m pytest tests/e2e
	TESTS_FROZEN_AT=2026-12-31T23:30:00+00:00 $(BIN)/python -m pytest tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
