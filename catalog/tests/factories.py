from decimal import Decimal

import factory

from accounts.tests.factories import MerchantFactory
from catalog.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    description = factory.Faker("sentence")
    price = Decimal("10.00")
    available_units = 10
    # A new product has supplied exactly its starting units (see Product.units_supplied).
    units_supplied = factory.SelfAttribute("available_units")
    is_active = True
