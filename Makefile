# Two commands for a fresh machine: `make run` (set up, then the main job) and
# `make test` (set up, then the tests). Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test-train

.PHONY: setup run test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,train,corpus]"
	touch $(STAMP)

setup: $(STAMP)

# The main job. Until the live player lands this shows how encore reads a song:
# each part, its score, and which one it takes as the melody.
run: setup
	$(BIN)/encore corpus inspect live/examples/ode_to_joy.mid

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
