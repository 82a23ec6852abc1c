# Payment Flow — developer entry points. `make run` serves (web, worker, beat), `make test` tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format migrations-check venv venv-dev clean bench bench-export screenshots walkthrough localstripe

# Two stamps in one venv: serving needs requirements.txt only; the tests and tools
# (requirements-dev.txt: pytest, playwright, schemathesis, ruff ...) go on top of it.
# Each is redone only when its file changes, so `make run` after `make test` (or the
# reverse) installs nothing it already has.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

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
	@# A .env written before codes were encrypted at rest gets its key once (DEBUG is off here).
	@grep -q '^DELIVERY_ENCRYPTION_KEYS=' .env || { \
	  echo "DELIVERY_ENCRYPTION_KEYS=$$($(PYTHON) -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')" >> .env; \
	  echo "Added DELIVERY_ENCRYPTION_KEYS to .env"; }
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo ""
	@echo "  API          http://127.0.0.1:$(PORT)/api/v1/"
	@echo "  API docs     http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "  Operators    http://127.0.0.1:$(PORT)/admin/   (demo logins: $(BIN)/python manage.py seed_demo)"
	@echo "  Merchants    http://127.0.0.1:$(PORT)/merchant/   (log in with a MERCHANT account's API credentials)"
	@echo ""
	@echo "  Processes    web, worker, beat (Procfile); Ctrl-C stops them all"
	@echo ""
	@# One metrics directory for web and worker (docs/operations.md, Metrics), emptied
	@# while none of them runs: a scrape counts what the worker does too.
	rm -rf var/metrics && mkdir -p var/metrics
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/metrics \
	  $(BIN)/honcho start -f Procfile

# The back offices' browser tests drive Debian's Chromium (a test tool cannot
# download its own browser here), so `make test` installs it once if missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The purchase and refund tests run a second time on SQLite (in memory), the embedded
# default, which buys through the ORM while PostgreSQL runs one SQL function
# (orders/services/purchase.py): both paths pass the same tests, so they cannot drift.
PURCHASE_TESTS := orders/tests/test_api.py orders/tests/test_card.py orders/tests/test_locks.py \
  orders/tests/test_partial_refunds.py orders/tests/test_refund_card.py orders/tests/test_delivery.py \
  orders/tests/test_events.py core/tests/test_metrics.py

test: venv-dev $(CHROMIUM)
	$(BIN)/pytest
	DATABASE_URL=sqlite://:memory: $(BIN)/pytest -q $(PURCHASE_TESTS)

# The back offices' screenshots in docs/ (admin-operator.png, admin-merchant.png: the
# dashboards with their charts; admin-operator-orders.png: a list narrowed by date;
# admin-merchant-file.png: a product's file):
# only the browser tests, saving their pages. Tests never write into the tree otherwise.
screenshots: venv-dev $(CHROMIUM)
	SCREENSHOTS_DIR=$(CURDIR)/docs $(BIN)/pytest -m browser backoffice/tests/test_browser.py

# The API guide's walk-through (docs/walkthrough.sh) against a running `make run` on
# $(PORT); rewrites its transcript, docs/walkthrough.out, which
# paymentflow/tests/test_walkthrough.py compares with a run on a fresh database.
walkthrough:
	BASE_URL=http://127.0.0.1:$(PORT) bash docs/walkthrough.sh > docs/walkthrough.out.new \
	  || { rm -f docs/walkthrough.out.new; exit 1; }
	mv docs/walkthrough.out.new docs/walkthrough.out
	@echo "Wrote docs/walkthrough.out"

# localstripe, a Stripe-compatible server, on 127.0.0.1:$(LOCALSTRIPE_PORT) as the tests run it
# (core/tests/localstripe.py: PaymentIntents with `amount_received`, which the webhook
# needs and localstripe 1.15.10 alone omits). For the card walk-through (docs/walkthrough.md).
LOCALSTRIPE_PORT ?= 8420
localstripe: venv-dev
	$(BIN)/python -c 'import socket, subprocess, sys; from core.tests.localstripe import _LAUNCHER; \
	  listener = socket.create_server(("127.0.0.1", $(LOCALSTRIPE_PORT))); \
	  sys.exit(subprocess.run([sys.executable, "-c", _LAUNCHER, str(listener.fileno())], pass_fds=[listener.fileno()]).returncode)'

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Performance benchmarks against baselines measured in the same run (bench/RESULTS.md).
# Needs PostgreSQL and Redis as for the tests; installs wrk/pgbench if missing. Not part of CI.
# bench/run.py runs the app with BENCH=true, which installs the bench app (bench/app/).
bench: venv-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# A streamed CSV export of 10,000 then 1,000,000 ledger entries: time and peak memory
# (bench/export_bench.py; scratch database pf_bench_export, dropped at the end).
bench-export: venv-dev
	$(BIN)/python bench/export_bench.py $(BENCH_ARGS)

migrations-check: venv-dev
	DJANGO_SECRET_KEY=makemigrations-check DELIVERY_ENCRYPTION_KEYS=YnVpbGQtdGltZS1vbmx5LWRlbGl2ZXJ5LWtleS0wMTI= $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles var
