"""Login and register share one rate limit per client IP (AUTH_THROTTLE_RATE), 429 `throttled` past it."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from core.tests.threads import run_together
from core.throttles import AuthRateThrottle

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


@pytest.fixture(autouse=True)
def _three_per_minute(settings):
    # The throttle counters live in the cache, which conftest empties before each test.
    settings.AUTH_THROTTLE_RATE = "3/min"


def attempt(client, path=LOGIN, ip="203.0.113.7", **headers):
    # An empty body is rejected (400) after the throttle has counted the request,
    # so the rate limit is tested without paying for a bcrypt hash per attempt.
    return client.post(path, {}, format="json", REMOTE_ADDR=ip, **headers)


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_login_past_the_rate_is_429_with_retry_after(api_client):
    statuses = [attempt(api_client).status_code for _ in range(3)]

    assert statuses == [400, 400, 400]
    assert_throttled(attempt(api_client))


def test_register_past_the_rate_is_429(api_client):
    for _ in range(3):
        attempt(api_client, REGISTER)

    assert_throttled(attempt(api_client, REGISTER))


def test_login_and_register_share_the_budget(api_client):
    attempt(api_client, LOGIN)
    attempt(api_client, REGISTER)
    attempt(api_client, LOGIN)

    assert_throttled(attempt(api_client, REGISTER))


def test_limit_is_per_client_ip(api_client):
    for _ in range(3):
        attempt(api_client, ip="203.0.113.7")
    assert_throttled(attempt(api_client, ip="203.0.113.7"))

    assert attempt(api_client, ip="198.51.100.9").status_code == 400


def test_x_forwarded_for_cannot_dodge_the_limit_without_proxies(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    for n in range(3):
        attempt(api_client, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert_throttled(attempt(api_client, HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_behind_one_proxy_the_forwarded_client_ip_is_limited(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    for _ in range(3):
        attempt(api_client, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert_throttled(attempt(api_client, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10"))

    assert attempt(api_client, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 400


def test_other_auth_endpoints_are_not_throttled(api_client):
    for _ in range(3):
        attempt(api_client)

    response = api_client.post("/api/v1/auth/refresh", {}, format="json", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_sixty_simultaneous_wrong_logins_get_at_most_the_limit_through(settings):
    """The count is one atomic increment in Redis: no two requests read the same count."""
    settings.AUTH_THROTTLE_RATE = "10/min"
    UserFactory(email="victim@example.com")

    def wrong_login(_):
        client = APIClient()
        body = {"email": "victim@example.com", "password": "not-the-password"}
        return client.post(LOGIN, body, format="json", REMOTE_ADDR="203.0.113.50").status_code

    statuses = run_together(60, wrong_login)

    assert not [s for s in statuses if isinstance(s, BaseException)]
    assert statuses.count(401) == 10
    assert statuses.count(429) == 50


def test_a_burst_across_the_window_boundary_is_still_held_to_the_limit(api_client, monkeypatch):
    """The previous window's count weighs on the next, so the limit holds over any 60 seconds."""
    clock = iter([59.5, 59.6, 59.7, 60.1, 60.2, 60.3, 180.5])
    monkeypatch.setattr(AuthRateThrottle, "timer", lambda self: next(clock))

    statuses = [attempt(api_client).status_code for _ in range(7)]

    assert statuses[:3] == [400, 400, 400]
    assert statuses[3:6] == [429, 429, 429]
    # Refused requests count too: the client is let through after a window without any.
    assert statuses[6] == 400
