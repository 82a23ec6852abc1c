"""The orders' scheduled tasks on a real worker: run twice, they change nothing more."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.models import OutboxEvent
from orders.models import Order, OrderStatus
from orders.tasks import orders_expire_due_task
from orders.tests.helpers import funded_buyer
from orders.tests.test_card import card_order
from paymentflow.tests.celery_worker import wait_for


@pytest.fixture
def celery_worker_env(stripe_worker_env):
    return stripe_worker_env


@pytest.mark.django_db(transaction=True)
def test_the_expiry_queued_twice_expires_once(stripe_settings, auth_client, celery_worker):
    product = ProductFactory(price=Decimal("5.00"), available_units=3)
    order_id = card_order(auth_client(funded_buyer("0")), product, quantity=2).json()["id"]
    Order.objects.filter(id=order_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    orders_expire_due_task.delay()
    orders_expire_due_task.delay()

    wait_for(lambda: Order.objects.get(id=order_id).status == OrderStatus.EXPIRED, message="the order expired")
    # The second run finds nothing due (or the order already EXPIRED under its lock).
    wait_for(lambda: "orders.expire_due" in celery_worker.log() and celery_worker.log().count("succeeded") >= 2)
    assert Product.objects.get(id=product.id).available_units == 3
    assert OutboxEvent.objects.filter(type="order.expired").count() == 1
