"""Orders placed before deliveries existed get one from migration orders 0006, as their status implies."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from delivery.models import Delivery, DeliveryStatus
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund
from orders.tests.helpers import funded_buyer


def migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_orders_get_the_delivery_their_status_implies(product):
    buyer = funded_buyer("100.00")
    completed = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    refunded = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    order_refund(order_id=refunded.id, actor=product.merchant)
    kept = Delivery.objects.get(order_id=completed.id)
    migrate([("orders", "0005_partial_refunds")])
    # As the orders were before deliveries: one of them without any.
    Delivery.objects.filter(order_id=refunded.id).delete()

    migrate()

    assert Delivery.objects.get(order_id=completed.id) == kept
    written = Delivery.objects.get(order_id=refunded.id)
    assert (written.status, written.buyer_id, written.product_id) == (DeliveryStatus.REVOKED, buyer.id, product.id)
    assert written.revoked_at is not None
