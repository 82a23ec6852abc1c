"""Fixtures of the merchants' site tests: a logged-in merchant and a rival merchant with rows of its own."""

import pytest
from django.test import Client

from accounts.tests.factories import MerchantFactory
from backoffice.tests.factories import sale
from catalog.tests.factories import ProductFactory


@pytest.fixture
def merchant_client(merchant):
    client = Client()
    client.force_login(merchant)
    return client


@pytest.fixture
def rival():
    """Another merchant, with a product, a sale and so a ledger of its own."""
    rival = MerchantFactory()
    product = ProductFactory(merchant=rival, name="Rival's product")
    sale(product)
    return rival
