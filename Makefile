# Payment Flow — developer entry points. `make run` serves, `make test` tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format migrations-check venv clean bench

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# A local .env with a fresh secret, written once; plain http on localhost, so the
# HTTPS redirect and secure-only cookies of production are off here.
.env:
	@printf '%s\n' \
	  "# Written by 'make run' for local use only; never commit it." \
	  "DJANGO_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  "DJANGO_SECURE_SSL_REDIRECT=false" \
	  "DJANGO_SECURE_COOKIES=false" > .env
	@echo "Wrote .env with a new DJANGO_SECRET_KEY"

run: venv .env
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo ""
	@echo "  API          http://127.0.0.1:$(PORT)/api/v1/"
	@echo "  API docs     http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "  Operators    http://127.0.0.1:$(PORT)/admin/   (create one: $(BIN)/python manage.py createsuperuser)"
	@echo "  Merchants    http://127.0.0.1:$(PORT)/merchant/   (log in with a MERCHANT account's API credentials)"
	@echo ""
	PORT=$(PORT) $(BIN)/gunicorn paymentflow.wsgi

# The back offices' browser tests drive Debian's Chromium (a test tool cannot
# download its own browser here), so `make test` installs it once if missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

test: venv $(CHROMIUM)
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Performance benchmarks against baselines measured in the same run (bench/RESULTS.md).
# Needs PostgreSQL and Redis as for the tests; installs wrk/pgbench if missing. Not part of CI.
# bench/run.py runs the app with BENCH=true, which installs the bench app (bench/app/).
bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

migrations-check: venv
	DJANGO_SECRET_KEY=makemigrations-check $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles
