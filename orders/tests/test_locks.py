"""The global lock order (wallets → product → codes → order) as `LockSequence` enforces it; what a purchase sends."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import ProductFactory
from core.models import OutboxEvent
from core.outbox import EventType
from orders.locks import LockOrderError, LockSequence
from orders.models import PaymentMethod
from orders.services import order_purchase
from orders.tests.helpers import funded_buyer

pytestmark = pytest.mark.django_db


def test_locks_are_taken_wallets_then_product_then_codes_then_order(product):
    buyer = funded_buyer("10.00")
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    with transaction.atomic():
        locks = LockSequence()
        wallets = locks.lock_wallets(user_ids=[buyer.id, product.merchant_id])
        locked_product = locks.lock_product(product_id=product.id)
        delivery = locks.lock_delivery(order_id=order.id)
        locked_order = locks.lock_order(order_id=order.id)

    assert set(wallets) == {buyer.id, product.merchant_id}
    assert delivery.order_id == order.id
    assert (locks.wallets, locks.product, locks.delivery, locks.order) == (
        wallets,
        locked_product,
        delivery,
        locked_order,
    )


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("product", "wallets"),
        ("order", "product"),
        ("order", "wallets"),
        ("product", "product"),
        ("order", "codes"),
        ("codes", "product"),
        ("codes", "codes"),
    ],
)
def test_a_lock_out_of_the_global_order_is_refused(product, first, then):
    buyer = funded_buyer("10.00")
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    steps = {
        "wallets": lambda locks: locks.lock_wallets(user_ids=[buyer.id]),
        "product": lambda locks: locks.lock_product(product_id=product.id),
        "codes": lambda locks: locks.lock_delivery(order_id=order.id),
        "order": lambda locks: locks.lock_order(order_id=order.id),
    }
    with transaction.atomic():
        locks = LockSequence()
        steps[first](locks)
        with pytest.raises(LockOrderError):
            steps[then](locks)


def _purchase_statements(settings) -> list[str]:
    settings.PLATFORM_FEE_PERCENT = Decimal("10")
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"))
    with transaction.atomic(), CaptureQueriesContext(transaction.get_connection()) as captured:
        order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    return [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path")
def test_a_wallet_purchase_on_postgresql_is_one_statement(settings):
    """The function (orders/migrations/0008) locks, checks and writes the sale and its order.completed event."""
    [function_call] = _purchase_statements(settings)
    assert function_call.startswith("SELECT * FROM orders_wallet_purchase(")
    assert OutboxEvent.objects.filter(type=EventType.ORDER_COMPLETED).count() == 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the ORM path (SQLite)")
def test_a_wallet_purchase_through_the_orm_sends_nine_statements_and_nothing_before_its_locks(settings):
    """Lock both wallets (the merchant read in the same statement), take the units, then the writes (delivery
    first), the last the order.completed event's outbox row (a new order's refunds need no query)."""
    statements = _purchase_statements(settings)
    assert [sql.split()[0] for sql in statements] == [
        "SELECT",
        "UPDATE",
        "INSERT",
        "INSERT",
        "INSERT",
        "UPDATE",
        "INSERT",
        "INSERT",
        "INSERT",
    ]
    assert '"catalog_product"' in statements[0]
