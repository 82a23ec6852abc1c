"""Fixtures of the delivery tests: product files in a storage of the test's own, FILE products, their orders."""

import pytest

from catalog.models import DeliveryKind
from catalog.tests.factories import ProductFactory


@pytest.fixture(autouse=True)
def delivery_storage_dir(settings, tmp_path):
    """Keep product files, and the uploads' temporary files, in this test's own directories."""
    storage_dir, upload_dir = tmp_path / "delivery", tmp_path / "uploads"
    upload_dir.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "delivery": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": storage_dir}},
    }
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_dir)
    return storage_dir


@pytest.fixture
def file_product(merchant):
    """A FILE product of the `merchant` fixture, with no file yet."""
    return ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.FILE, name="Field recordings")
