"""`GET /api/v1/health`: database and cache status; degraded without the cache, 503 without the database."""

import socket

import pytest

from core import health

URL = "/api/v1/health"


def closed_port() -> int:
    """Return a local TCP port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_health_reports_database_and_cache_ok(api_client):
    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_needs_no_token_and_ignores_a_bad_one(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert api_client.get(URL).status_code == 200


@pytest.mark.django_db
def test_unreachable_cache_is_degraded_but_200(api_client, settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"},
    }

    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}


@pytest.mark.django_db
def test_the_api_keeps_serving_with_the_cache_down(api_client, settings, user, auth_client):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"},
    }

    response = auth_client(user).get("/api/v1/auth/me")

    assert response.status_code == 200


@pytest.mark.django_db
def test_database_down_is_503(api_client, monkeypatch):
    # Stopping the shared PostgreSQL would break every other test, so only the probe is replaced.
    monkeypatch.setattr(health, "_database_ok", lambda: False)

    response = api_client.get(URL)

    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable", "cache": "ok"}


def test_database_probe_answers_false_when_its_query_fails():
    # No django_db mark: pytest-django makes any query here raise, as a dead database would.
    assert health._database_ok() is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_probes_on_a_shared_cache_all_report_ok():
    """Each probe writes a key of its own: probes at once never read each other's value."""
    from rest_framework.test import APIClient

    from core.tests.threads import run_together

    answers = run_together(40, lambda _: APIClient().get(URL).json()["status"])

    assert answers == ["ok"] * 40
