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

# `run` installs a plain copy, not an editable one: a player has no use for editing in
# place, and setuptools warns at every editable install of this layout (models/ installs
# as live.models) about folders named like the package. The copy is made again when
# the code or the models change; setuptools' build/ folder is removed after it, so a
# file deleted from the checkout never lingers in the next copy. It replaces the tests'
# editable install, so their stamp goes and `make test` puts that back.
RUN_SOURCES := $(shell find live models -type f ! -name '*.pyc' 2>/dev/null)

$(RUN_STAMP): pyproject.toml $(RUN_SOURCES) | $(BIN)/python
	rm -rf build
	$(BIN)/python -m pip install --quiet ".[link]"
	rm -rf build $(TEST_STAMP)
	touch $(RUN_STAMP)

# The tests and training work in the checkout itself: an editable install.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,train,corpus,link]"
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
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
