"""The books the command tests reconcile: a small shop with a completed and a refunded order."""

from decimal import Decimal

import pytest

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.tests.factories import ProductFactory
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund
from wallets.services import wallet_deposit

D = Decimal


@pytest.fixture
def shop(settings):
    """A merchant with a product, a buyer, a completed and a refunded wallet order (with a 2.5 % fee)."""
    settings.PLATFORM_FEE_PERCENT = D("2.5")
    merchant, buyer = MerchantFactory(), UserFactory()
    wallet_deposit(user=buyer, amount=D("500.00"))
    product = ProductFactory(merchant=merchant, price=D("19.99"), available_units=20)
    completed = order_purchase(buyer=buyer, product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    refunded = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    order_refund(order_id=refunded.id, actor=merchant)
    return {"merchant": merchant, "buyer": buyer, "product": product, "completed": completed, "refunded": refunded}
