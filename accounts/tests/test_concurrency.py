"""Races on accounts: one refresh token honoured once, one email registered once."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory
from core.tests.threads import run_together

THREADS = 8


def race(path: str, body: dict) -> list[int]:
    """POST the same body from THREADS threads released together; return the sorted statuses."""
    return sorted(run_together(THREADS, lambda _i: APIClient().post(path, body, format="json").status_code))


@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_of_one_token_succeeds_once():
    user = UserFactory()
    refresh = token_pair_for(user=user).refresh

    statuses = race("/api/v1/auth/refresh", {"refreshToken": refresh})

    assert statuses == [200] + [401] * (THREADS - 1)
    assert BlacklistedToken.objects.count() == 1
    # The original token and exactly one rotated successor.
    assert OutstandingToken.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_logout_of_one_token_succeeds_once():
    user = UserFactory()
    refresh = token_pair_for(user=user).refresh

    statuses = race("/api/v1/auth/logout", {"refreshToken": refresh})

    assert statuses == [204] + [401] * (THREADS - 1)
    assert BlacklistedToken.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_account():
    # All threads pass the "email free?" check; the unique index lets one insert win.
    statuses = race("/api/v1/auth/register", {"email": "race@example.com", "password": "violet-anchor-meadow-42"})

    assert statuses == [201] + [409] * (THREADS - 1)
    assert User.objects.filter(email="race@example.com").count() == 1
