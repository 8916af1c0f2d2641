# Two commands for a fresh machine: `make run` (set up, then play) and `make test`
# (set up, then the tests). Both create .venv on first use; `run` installs only what
# the instrument needs (no torch), `test` adds the test, training and corpus extras.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test-train

.PHONY: setup run test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,train,corpus]"
	touch $(TEST_STAMP) $(RUN_STAMP)

setup: $(RUN_STAMP)

# The main job: the performer's screen, playing the shipped default model on a virtual
# MIDI port "encore" (connect a synth to it; `o` on the screen picks another port).
run: setup
	$(BIN)/encore tui

# The checks first (lint, the layers' import contracts: seconds), then the suite.
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
