# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-e2e screenshots test-faults test-multiprocess migrate seed lint bench profile clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[test]"
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate

seed: migrate
	$(BIN)/python manage.py seed

run: seed
	$(BIN)/hypercorn app:app --bind 127.0.0.1:8002

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser journeys (tests/e2e/): Playwright driving Debian's Chromium (/usr/bin/chromium,
# `apt-get install chromium`) against a hypercorn server the tests start, with axe-core from
# npm. SQLite by default; TEST_DATABASE_URL and TEST_REDIS_URL as for `make test`.
# Screenshots go to var/e2e/ (E2E_ARTIFACTS_DIR). `make test` leaves tests/e2e alone.
$(VENV)/.installed-e2e: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet ".[test,e2e]"
	touch $@

# npm ci when node_modules is missing or the lock changed (the touch: npm keeps the
# package's own timestamps).
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test-e2e: $(VENV)/.installed-e2e node_modules/axe-core/axe.min.js
	CART_E2E=1 $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

# The README's pictures (docs/screenshots/: a page cart and an order page, phone and
# desktop), taken by the browser journey that checks them (tests/e2e/test_shop_pages.py).
screenshots: $(VENV)/.installed-e2e node_modules/axe-core/axe.min.js
	CART_E2E=1 E2E_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e/test_shop_pages.py -k readme $(PYTEST_ARGS)

# Real faults (tests/faults/): PostgreSQL restarted (a cluster of the test's own, made by
# initdb/pg_ctl), Redis stopped and frozen (redis-server of its own), SumUp unreachable and
# slow, the app SIGKILLed, each under hypercorn. PostgreSQL and Redis only: TEST_DATABASE_URL
# (its public schema is dropped: CI gives it test_faults); skipped, with the reason, without.
test-faults: $(VENV)/.installed
	CART_FAULTS=1 $(BIN)/python -m pytest tests/faults -rs $(PYTEST_ARGS)

# Several processes, one database (tests/multiprocess/): three hypercorn processes of the app
# on PostgreSQL and Redis behind a round-robin proxy the tests run. TEST_DATABASE_URL and
# TEST_REDIS_URL as for `make test` (that database's schema is dropped too: give it one of
# its own); skipped without them. `make test` leaves tests/multiprocess alone.
test-multiprocess: $(VENV)/.installed
	CART_MULTIPROCESS=1 $(BIN)/python -m pytest tests/multiprocess $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# The load bench (bench/load.py, bench/README.md): the app under hypercorn with 1 and 2
# workers, driven by wrk (/usr/bin/wrk), beside a baseline of bare Quart and asyncpg; about
# 7 minutes. PostgreSQL database bench_load (made if missing, its schema dropped; or
# BENCH_DATABASE_URL) and Redis db 14 (BENCH_REDIS_URL). Writes its figures to
# bench/README.md; logs under var/bench/. BENCH_ARGS="--quick" for a short run.
# Not part of `make test`. The in-process page bench: .venv/bin/python bench/cart_page.py
$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet ".[test,bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/load.py $(BENCH_ARGS)

# py-spy (as root: it reads another process's memory) on the one worker while wrk drives
# the 10-line cart page at 16 connections; a speedscope file under var/bench/.
profile: $(VENV)/.installed-bench
	$(BIN)/python bench/load.py --profile 20 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules
