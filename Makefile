# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test migrate seed lint bench clean

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

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# Uses its own temporary database (and BENCH_DATABASE_URL when set), not var/.
bench: $(VENV)/.installed
	$(BIN)/python bench/cart_page.py

clean:
	rm -rf $(VENV) var .pytest_cache
