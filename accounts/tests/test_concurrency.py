"""One refresh token, presented by several requests at once, is honoured exactly once."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory

THREADS = 8


def race(path: str, refresh_token: str) -> list[int]:
    """POST the same refresh token from THREADS threads released together; return the statuses."""
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker():
        try:
            client = APIClient()
            barrier.wait()
            response = client.post(path, {"refreshToken": refresh_token}, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_of_one_token_succeeds_once():
    user = UserFactory()
    refresh = token_pair_for(user=user).refresh

    statuses = race("/api/v1/auth/refresh", refresh)

    assert statuses == [200] + [401] * (THREADS - 1)
    assert BlacklistedToken.objects.count() == 1
    # The original token and exactly one rotated successor.
    assert OutstandingToken.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_logout_of_one_token_succeeds_once():
    user = UserFactory()
    refresh = token_pair_for(user=user).refresh

    statuses = race("/api/v1/auth/logout", refresh)

    assert statuses == [204] + [401] * (THREADS - 1)
    assert BlacklistedToken.objects.count() == 1
