# The two commands of the quick start: `make run` and `make test`.
# Both create .venv on first use and (re)install the project when
# pyproject.toml changes, so a fresh clone needs nothing but Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= $(if $(wildcard config.toml),config.toml,config.example.toml)
PYTEST_ARGS ?=

.PHONY: run test sim bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tradingd run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

sim: $(STAMP)
	$(BIN)/tradingd sim --port 9900

bench: $(STAMP)
	@for f in bench/*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
