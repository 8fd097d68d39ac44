# linktrack: `make run` serves the service on 127.0.0.1:8000 (with a click writer beside it when
# clicks are buffered in Redis), `make test` runs the suite, `make fmt` formats the code and fixes
# what ruff can fix, `make check` runs everything CI checks besides the suite (lint, types,
# migrations up to date).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: run test fmt lint typecheck migrations-check check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# The settings read this file when SECRET_KEY is unset, so manage.py commands work after make run.
SECRET_KEY_FILE := $(or $(LINKTRACK_VAR_DIR),var)/secret_key

$(SECRET_KEY_FILE):
	mkdir -p $(@D)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

run: $(VENV)/.runtime-installed $(SECRET_KEY_FILE)
	@export SECRET_KEY="$${SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}"; \
	export TRACKING_BASE_URL="$${TRACKING_BASE_URL:-http://$(HOST):$(PORT)}"; \
	set -e; \
	$(BIN)/python manage.py migrate --noinput; \
	$(BIN)/python manage.py bootstrap_admin; \
	$(BIN)/python manage.py load_demo; \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0; \
	echo "linktrack on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"; \
	echo "starting the background worker (webhooks)"; \
	$(BIN)/python manage.py db_worker & children=$$!; \
	if [ -n "$${REDIS_URL:-}" ] && [ "$${CLICK_MODE:-buffered}" = buffered ]; then \
		echo "buffered clicks: starting the click writer"; \
		$(BIN)/python manage.py run_click_writer & children="$$children $$!"; \
	fi; \
	trap 'kill -TERM $$children 2>/dev/null' INT TERM; \
	status=0; \
	$(BIN)/gunicorn -c python:linktrack.gunicorn_conf linktrack.wsgi \
		--bind $(HOST):$(PORT) --workers $(WORKERS) || status=$$?; \
	kill -TERM $$children 2>/dev/null || true; \
	wait $$children 2>/dev/null || true; \
	exit $$status

test: $(VENV)/.dev-installed
	mkdir -p var
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fixes first: an autofix (an import moved, a line rewritten) may need formatting afterwards.
fmt: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	SECRET_KEY=$${SECRET_KEY:-typecheck} $(BIN)/mypy .

migrations-check: $(VENV)/.dev-installed
	mkdir -p var
	SECRET_KEY=$${SECRET_KEY:-check} $(BIN)/python manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .mypy_cache .ruff_cache
