# Kring — the two commands: `make run` (demo on SQLite) and `make test` (the whole gate).
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py

.PHONY: run test install lint format messages bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { scripts/find-python; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

# The zero-setup demo: SQLite, tasks run eagerly in-process, the embedded local ledger.
run: install
	DEBUG=true $(MANAGE) migrate --no-input
	DEBUG=true PORT=$(PORT) $(MANAGE) seed_demo
	DEBUG=true $(MANAGE) runserver 127.0.0.1:$(PORT)

# Lint, format check, types, migrations check and the suite; DATABASE_URL picks the database (SQLite if unset).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	DJANGO_SETTINGS_MODULE=tests.settings $(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the Dutch catalogue after adding strings (needs GNU gettext); the .mo is committed.
messages: install
	DEBUG=true $(MANAGE) makemessages --locale nl --no-wrap --no-obsolete --ignore ".venv/*"
	DEBUG=true $(MANAGE) compilemessages --locale nl --ignore ".venv/*"

# Office-scale figures (DESIGN §7) on PostgreSQL: seeds a practice of 100,000 relations once, then times
# the list, search, detail, bulk and export, side by side with the admin. BENCH_ARGS="--relations 5000".
BENCH_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/kring_bench)
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_SETTINGS_MODULE=config.settings \
	SECRET_KEY=bench-only-not-a-secret-kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
bench: install
	$(BENCH_ENV) $(BIN)/python -m bench.database
	$(BENCH_ENV) $(MANAGE) migrate --no-input -v0
	$(BENCH_ENV) $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache .mypy_cache
