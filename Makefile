# Connect: `make run` serves the demo, `make test` runs the whole suite.
# Every variable below can be given on the command line or in the environment;
# a given value is never overridden.

HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Demo values for `make run` only (docs/contract.md).
RUN_ENV = \
	DEBUG="$${DEBUG-1}" \
	FACEBOOK_APP_SECRET="$${FACEBOOK_APP_SECRET-demo-app-secret}" \
	FACEBOOK_APP_ID="$${FACEBOOK_APP_ID-100000000000777}" \
	FACEBOOK_VERIFY_TOKEN="$${FACEBOOK_VERIFY_TOKEN-demo-verify-token}" \
	FACEBOOK_GRAPH_URL="$${FACEBOOK_GRAPH_URL-http://$(HOST):$(PORT)/fake-graph}" \
	FACEBOOK_SIMULATOR="$${FACEBOOK_SIMULATOR-1}"

# Where the PostgreSQL + Redis pass of `make test` runs.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/connect
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@echo "Connect on http://$(HOST):$(PORT)/  (agent1 / demo-pass; simulator at /simulator/; Ctrl-C stops)"
	$(RUN_ENV) exec $(BIN)/daphne -b $(HOST) -p $(PORT) connect.asgi:application

test: $(VENV)/.installed-test
	@bash .ci/ensure-test-services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "== pass 1: SQLite, in-memory channel layer"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && redis-cli -u "$(TEST_REDIS_URL)" ping >/dev/null 2>&1; then \
		echo "== pass 2: PostgreSQL + Redis"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest; \
	else \
		echo "== pass 2 skipped: PostgreSQL or Redis does not answer on 127.0.0.1"; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `make bench BENCH_ARGS=--quick` for a smoke run; bench/README.md explains the figures.
bench: $(VENV)/.installed-test
	@bash .ci/ensure-test-services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* db.test.sqlite3* staticfiles test-artifacts
