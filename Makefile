# The two commands a newcomer needs: `make run` and `make test`; and `make check`, the
# quick answer while developing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

# The suite runs in one process a core (PYTEST_WORKERS=0 runs it in this one).
PYTEST_WORKERS ?= 2

# pytest keeps its assert-rewritten test modules in __pycache__ between runs (about eight
# seconds a process a run here); an environment that forbids bytecode would redo them.
unexport PYTHONDONTWRITEBYTECODE

# CI gets a fresh test database each run; locally pytest keeps it between runs.
ifdef CI
PYTEST_DB := --create-db
endif

.PHONY: run test check migrations-check install lint format messages migrate worker beat serve smoke clean bench backup restore

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The embedded default: SQLite, tasks run eagerly, no Redis, no worker.
# `make run PORT=8080` serves on another port.
PORT ?= 8000
run: export DEBUG ?= true
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_divisions
	$(PY) manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(PORT) (demo logins are listed above)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# The whole suite, as CI runs it: unit and page tests, browsers, faults, fuzzing, bench.
test: install lint migrations-check
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_DB) $(PYTEST_ARGS)

# The developer's lane, under two minutes here: the unit and page tests, without what starts
# browsers, portals to break, subprocesses or the deploy tools (pytest.ini's markers).
# A file's tests stay in one process (loadfile): some share a module-scoped world that a
# transactional test's flush, run between them, would empty.
QUICK := not slow and not e2e and not smoke and not deploy
check: install lint migrations-check
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_DB) -m "$(QUICK)" $(PYTEST_ARGS)

migrations-check: install
	DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run --settings=config.settings_test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Refresh the Vietnamese catalogue after changing source strings, then translate the
# new entries in locale/vi/LC_MESSAGES/django.po and run this again to compile.
messages: export DEBUG ?= true
messages: install
	$(PY) manage.py makemessages -l vi --no-obsolete --ignore=.venv --ignore=scripts --ignore=staticfiles
	$(PY) manage.py compilemessages -l vi --ignore=.venv

# Production-like processes (set DATABASE_URL, REDIS_URL, SECRET_KEY first).
worker: install
	$(VENV)/bin/celery -A config worker --loglevel=info --concurrency=2

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=info

serve: install
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi

# Measure at province scale and write docs/benchmarks.md (an hour at S and M on 2 cores).
# Needs PostgreSQL and Redis on 127.0.0.1 as `make test` does; works in databases of its own.
BENCH_SIZES ?= S,M
bench: install
	$(PY) -m bench.run --sizes $(BENCH_SIZES) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles .pytest_cache .ruff_cache

# A pg_dump of DATABASE_URL's database into backups/ (or BACKUP=path), 0600 in a 0700
# folder, encrypted when BACKUP_AGE_RECIPIENT or BACKUP_GPG_RECIPIENT is set; and its restore:
# `make restore BACKUP=backups/portal-....dump` replaces the database's contents, in one
# transaction (nothing changes if it fails).
backup: install
	$(PY) manage.py backup_database $(if $(BACKUP),--output $(BACKUP))

restore: install
	@test -n "$(BACKUP)" || { echo "Say which dump: make restore BACKUP=backups/portal-....dump"; exit 2; }
	$(PY) manage.py restore_database "$(BACKUP)" --yes
