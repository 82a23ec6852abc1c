"""The bench app: its floor endpoint and Server-Timing header, installed only when BENCH is on."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[3]

# What a process with these settings has of the bench app; the developer's .env is not read.
PROBE = """
import environ
environ.Env.read_env = lambda *args, **kwargs: None
import json
import django
from django.conf import settings
django.setup()
from django.core.management import get_commands
from django.urls import resolve
print(json.dumps({
    "installed": "bench.app" in settings.INSTALLED_APPS,
    "middleware": "bench.app.middleware.ServerTimingMiddleware" in settings.MIDDLEWARE,
    "command": "generate_ledger" in get_commands(),
    "mounted": resolve("/api/v1/bench/ok").url_name == "bench-ok",
}))
"""


def probe(**variables: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "paymentflow.settings",
        "DJANGO_SECRET_KEY": "bench-app-test-secret-key-0123456789abcdef0123456789",
        "DELIVERY_ENCRYPTION_KEYS": os.environ["DELIVERY_ENCRYPTION_KEYS"],
        **variables,
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_never_install_it():
    assert probe() == {"installed": False, "middleware": False, "command": False, "mounted": False}
    assert probe(BENCH="false") == {"installed": False, "middleware": False, "command": False, "mounted": False}


def test_bench_settings_install_all_of_it():
    assert probe(BENCH="true") == {"installed": True, "middleware": True, "command": True, "mounted": True}


@pytest.mark.urls("bench.app.urls")
def test_the_floor_answers_a_constant_body_with_the_time_spent_inside_django(client, settings):
    settings.MIDDLEWARE = ["bench.app.middleware.ServerTimingMiddleware", *settings.MIDDLEWARE]

    response = client.get("/ok")

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert re.fullmatch(r"app;dur=\d+\.\d{3}, gateway;dur=0\.000", response["Server-Timing"])


@pytest.mark.django_db
def test_a_card_order_reports_the_time_stripe_took_inside_the_time_django_took(settings, stripe_settings, auth_client):
    from catalog.tests.factories import ProductFactory
    from orders.tests.helpers import funded_buyer

    settings.MIDDLEWARE = ["bench.app.middleware.ServerTimingMiddleware", *settings.MIDDLEWARE]
    product = ProductFactory(available_units=5)

    response = auth_client(funded_buyer("0")).post(
        "/api/v1/orders", {"productId": str(product.id), "paymentMethod": "GATEWAY"}, format="json"
    )

    assert response.status_code == 201, response.json()
    timing = re.fullmatch(r"app;dur=(\d+\.\d{3}), gateway;dur=(\d+\.\d{3})", response["Server-Timing"])
    assert timing, response["Server-Timing"]
    app_ms, gateway_ms = float(timing.group(1)), float(timing.group(2))
    # The PaymentIntent was created over HTTP (localstripe on loopback): some time, within the request's.
    assert 0 < gateway_ms < app_ms
