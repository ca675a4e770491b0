# The two commands that are the contract: `make demo` and `make test`. Each sets up .venv first.
# `make lint` runs ruff on the Python and SQLFluff on the dbt project (dbt_project/.sqlfluff).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dbt manifest the Dagster assets load from, re-parsed whenever the dbt project changes.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o \( -name '*.sql' -o -name '*.yml' \) -print)
export SIEVE_HOME ?= $(CURDIR)/.sieve
export DAGSTER_HOME ?= $(SIEVE_HOME)/dagster

.PHONY: venv demo test test-fast lint bench ui postgres clean

venv: $(STAMP) $(MANIFEST)

# Reinstall whenever the pinned dependencies change.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (Sieve needs Python 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip check
	@touch $(STAMP)

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file assets/dbt.py

demo: venv
	$(BIN)/sieve demo

# The suite is spread over the machine's cores (pytest-xdist); a file's tests stay on one worker
# so its module fixtures (a synced org, built marts) are made once, and files are handed out in
# collection order, the slowest first (tests/conftest.py). TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
XDIST = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: venv
	$(BIN)/python -m pytest $(XDIST)

# The inner loop: pure functions, architecture rules, sensors and emulators (under a minute).
test-fast: venv
	$(BIN)/python -m pytest $(XDIST) tests/unit tests/rules tests/sensors tests/emulators

# Both linters run, so one pass reports every violation; either one failing fails the target.
lint: venv
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests || status=1; \
	exit $$status

bench: venv
	$(BIN)/python -m bench

ui: venv
	$(BIN)/sieve ui

postgres:
	bash .ci/postgres

clean:
	rm -rf $(VENV) .pytest_cache
