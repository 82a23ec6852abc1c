import hashlib
import uuid
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import MerchantFactory
from catalog.models import DeliveryKind, Product
from catalog.tests.factories import ProductFactory
from delivery.models import ProductFile
from delivery.services.codes import codes_add


def new_codes(count: int, *, prefix: str = "KEY") -> list[str]:
    """Return `count` distinct codes that appear nowhere else (a dump test searches for them)."""
    return [f"{prefix}-{uuid.uuid4().hex[:12].upper()}-{n:04d}" for n in range(count)]


def codes_product(*, codes: int | list[str] = 5, merchant=None, price: str = "10.00", **fields) -> Product:
    """Return a CODES product whose pool holds `codes` (a count, or the codes), uploaded as its merchant would."""
    merchant = merchant or MerchantFactory()
    product = ProductFactory(
        merchant=merchant, price=Decimal(price), available_units=0, delivery_kind=DeliveryKind.CODES, **fields
    )
    codes = new_codes(codes) if isinstance(codes, int) else codes
    if codes:
        codes_add(product_id=product.id, merchant=merchant, codes=codes)
    product.refresh_from_db()
    return product


class ProductFileFactory(factory.django.DjangoModelFactory):
    """A FILE product's file row (what the storage holds is the file tests' business)."""

    class Meta:
        model = ProductFile

    product = factory.SubFactory(ProductFactory, delivery_kind=DeliveryKind.FILE)
    storage_name = factory.Sequence(lambda n: f"delivery/{n}/manual.pdf")
    file_name = "manual.pdf"
    size = 3
    sha256 = hashlib.sha256(b"pdf").hexdigest()
    uploaded_at = factory.LazyFunction(timezone.now)
