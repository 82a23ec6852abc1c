"""Fixtures of the operators' site tests: an operator and a client logged in as it."""

import pytest
from django.test import Client

from backoffice.tests.factories import operator


@pytest.fixture
def staff(db):
    """An operator: an active staff superuser that is not a merchant."""
    return operator()


@pytest.fixture
def operator_client(staff):
    client = Client()
    client.force_login(staff)
    return client
