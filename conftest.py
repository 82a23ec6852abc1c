"""Shared fixtures: users of each role and API clients holding their real JWTs."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from accounts.tests.factories import MerchantFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """On SQLite (`make test`'s second run, the ORM purchase path) skip the tests whose threads share the database.

    Those are the races, run on PostgreSQL, where they mean something: SQLite
    has one writer at a time and would only time out on them.
    """
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    skip = pytest.mark.skip(reason="threads sharing the database need PostgreSQL")
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Each test starts with an empty cache (the test database is fresh too). Only this
    # suite's keys (CACHE_KEY_PREFIX): the Redis database may be shared with other work.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _static_files_as_found(settings):
    # Pages link static files by their plain names, as the test servers (live_server)
    # serve them from the apps: never by the hashed names of a manifest that a
    # `make run` (collectstatic) may have left in STATIC_ROOT.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _product_files_outside_the_tree(settings, tmp_path_factory):
    # Product files a test uploads (and their temporary files) go to a directory of the
    # run's own, never to MEDIA_ROOT in the working tree.
    root = tmp_path_factory.mktemp("media")
    settings.STORAGES = {
        **settings.STORAGES,
        "delivery": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    settings.FILE_UPLOAD_TEMP_DIR = str(root)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def merchant(db):
    return MerchantFactory()


@pytest.fixture
def auth_client():
    """Return a factory: `auth_client(user)` is an APIClient sending that user's access token."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=user).access}")
        return client

    return make


@pytest.fixture
def product(merchant):
    """An active product of the `merchant` fixture: 10 units at 10.00."""
    from catalog.tests.factories import ProductFactory

    return ProductFactory(merchant=merchant)


@pytest.fixture
def funded_wallet(db):
    """Return a factory: `funded_wallet(user, "100.00")` credits the user's wallet (a real ledger
    DEPOSIT, not bound by MAXIMUM_DEPOSIT) and returns the refreshed Wallet."""
    from wallets.tests.factories import fund_wallet

    return fund_wallet


# The Stripe fixtures (localstripe per session, `stripe_settings`, `stripe_webhook_to`)
# and their helpers live in core/tests/localstripe.py; a real Celery worker
# (`celery_worker`, `wait_for`) in paymentflow/tests/celery_worker.py.
pytest_plugins = ["core.tests.localstripe", "paymentflow.tests.celery_worker"]
