# Connect: `make run` serves the demo, `make test` runs the whole suite.
# Every variable below can be given on the command line or in the environment;
# a given value is never overridden.

# Python keeps the project's compiled modules (__pycache__, ignored by git) even where the
# environment says not to: every test worker and every server a test starts compiled the
# whole project again, a few seconds each (the SQLite pass took 3:10 instead of 2:55).
unexport PYTHONDONTWRITEBYTECODE

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
	FACEBOOK_SIMULATOR="$${FACEBOOK_SIMULATOR-1}" \
	FACEBOOK_ATTACHMENT_ALLOWED_HOSTS="$${FACEBOOK_ATTACHMENT_ALLOWED_HOSTS-$(HOST):$(PORT)}" \
	FACEBOOK_PRIVACY_URL="$${FACEBOOK_PRIVACY_URL-https://example.com/privacy}" \
	PUBLIC_BASE_URL="$${PUBLIC_BASE_URL-http://$(HOST):$(PORT)}"

# daphne's access log writes every request's query string (the webhook handshake's
# verify token among them) to stdout: verbosity 0 turns it off; warnings stay.
# A burst of desktops (everyone back after a restart) opens a few at a time
# (connect/socket_stack.py); daphne's 5 s handshake limit would drop those
# still waiting their turn, so they get 30 s. The same burst closing (a network
# blip, a process's 5,000 tabs) is unregistered a batch at a time: daphne's 10 s
# for a closed socket's consumer to finish cut thousands short on a slow day.
DAPHNE_ARGS ?= --verbosity 0 --websocket_connect_timeout 30 --application-close-timeout 30

# Where the PostgreSQL + Redis pass of `make test` runs.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/connect
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
SERVICES_ANSWER = pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && redis-cli -u "$(TEST_REDIS_URL)" ping >/dev/null 2>&1
# `make coverage` runs pass 1 measuring the project's code and prints its coverage (files
# not fully covered, and the total). `make test` does not measure: tracing every line made
# pass 1 take 7 minutes instead of 3.
COVERAGE_ARGS = --cov=routing --cov=facebook --cov=connect --cov-report=term:skip-covered
TEST_COVERAGE ?=
# Each pass runs on this many workers (pytest-xdist), each with databases of its own
# (the browser tests run apart, in one process). `make test TEST_WORKERS=0`: no workers.
# Three on two cores: much of a test is waiting (PostgreSQL, server processes, sockets);
# measured here, three workers took a fifth less time than two.
TEST_WORKERS ?= 3
TEST_PARALLEL = $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup,)
# The browser tests on two workers, each file on one of them, each worker with servers and a
# Chromium of its own: 3.5 minutes instead of 5.5 here. Three overloaded two cores (two tests
# missed their 5 s waits).
TEST_BROWSER_WORKERS ?= 2
TEST_BROWSER_PARALLEL = $(if $(filter-out 0,$(TEST_BROWSER_WORKERS)),-n $(TEST_BROWSER_WORKERS) --dist loadgroup,)

.PHONY: run test coverage lint typecheck format lock bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Installs come from the lock files (requirements.txt and requirements-test.txt, written by `make lock`):
# exactly the pinned versions, then the project itself without resolving again.
$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements-test.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@echo "Connect on http://$(HOST):$(PORT)/  (agent1 / demo-pass; simulator at /simulator/; Ctrl-C stops)"
	$(RUN_ENV) exec $(BIN)/daphne $(DAPHNE_ARGS) -b $(HOST) -p $(PORT) connect.asgi:application

test: $(VENV)/.installed-test
	@bash .ci/ensure-test-services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@echo "== pass 1: SQLite, in-memory channel layer"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(TEST_PARALLEL) $(TEST_COVERAGE) -m "not browser"
	@if $(SERVICES_ANSWER); then \
		echo "== pass 2: PostgreSQL + Redis"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest $(TEST_PARALLEL) -m "not browser"; \
	else \
		echo "== pass 2 skipped: PostgreSQL or Redis does not answer on 127.0.0.1"; \
	fi
	@# The browser tests drive real daphne servers and Chromium: apart from the other tests (on a
	@# busy machine their timing suffers), in production's shape when PostgreSQL and Redis answer.
	@if $(SERVICES_ANSWER); then \
		echo "== browser tests: PostgreSQL + Redis, two server processes"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest $(TEST_BROWSER_PARALLEL) -m browser; \
	else \
		echo "== browser tests: SQLite, one server process"; \
		env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(TEST_BROWSER_PARALLEL) -m browser; \
	fi

coverage: $(VENV)/.installed-test
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(TEST_PARALLEL) $(COVERAGE_ARGS) -m "not browser"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-resolve the lock files after a change in pyproject.toml (pins still allowed are
# kept); `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed.
# The test lock is constrained by the run lock: both pin shared packages alike.
# pip-tools is a tool of this target only: installed on demand, in no extra.
PIP_COMPILE = $(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-trusted-host \
	--no-emit-find-links $(LOCK_ARGS)
lock: | $(BIN)/python
	$(BIN)/pip install -q 'pip-tools>=7.4,<8'
	$(PIP_COMPILE) -o requirements.txt pyproject.toml
	$(PIP_COMPILE) --extra test -c requirements.txt -o requirements-test.txt pyproject.toml

# `make bench BENCH_ARGS=--quick` for a smoke run; bench/README.md explains the figures.
bench: $(VENV)/.installed-test
	@bash .ci/ensure-test-services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* db.test.sqlite3* staticfiles test-artifacts .coverage .mypy_cache
