# Two commands for a newcomer: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/abparts serve

# tests/browser drives Debian's chromium: installed here once (CI runs as root). Where apt-get cannot,
# the message says so and the browser test fails with how to install it; nothing is skipped.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium >/dev/null) || echo "could not install chromium (apt-get): tests/browser will fail"

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/abparts migrate

clean:
	rm -rf $(VENV) .abparts .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: faults
faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -m faults $(PYTEST_ARGS)

.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
