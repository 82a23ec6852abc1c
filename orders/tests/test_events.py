"""Domain events of orders: written in the transaction of the change, with the API's object as it committed."""

from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from accounts.services import token_pair_for
from catalog.tests.factories import ProductFactory
from core.models import OutboxEvent
from core.outbox import outbox_sweep
from orders.models import Order, OrderStatus, StatusChangeSource
from orders.services.card import order_complete_card_payment, order_expire, order_fail
from orders.tests.helpers import funded_buyer
from orders.tests.test_card import card_order
from paymentflow.tests.celery_worker import wait_for
from paymentflow.tests.servers import API, database_environment, free_port, gunicorn

ORDERS = f"{API}/orders"


def events(event_type=None) -> list[OutboxEvent]:
    found = OutboxEvent.objects.order_by("created_at")
    return list(found.filter(type=event_type) if event_type else found)


def buy(client, product, quantity=1):
    return client.post(
        ORDERS, {"productId": str(product.id), "paymentMethod": "WALLET", "quantity": quantity}, format="json"
    )


@pytest.mark.django_db
def test_a_wallet_purchase_emits_order_completed_with_the_api_order(auth_client):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)

    response = buy(auth_client(buyer), product, quantity=2)

    assert response.status_code == 201
    [event] = events()
    assert event.type == "order.completed"
    # The webhook's `data`: the order exactly as the API renders it.
    assert event.payload == {"order": response.json()}
    assert event.payload["order"]["status"] == "COMPLETED"
    assert event.payload["order"]["totalAmount"] == "20.00"


@pytest.mark.django_db
def test_the_event_of_a_purchase_in_cents_keeps_its_amounts_timestamps_and_request_id(auth_client):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("12.35"), available_units=5)

    response = auth_client(buyer).post(
        ORDERS,
        {"productId": str(product.id), "paymentMethod": "WALLET", "quantity": 3},
        format="json",
        HTTP_X_REQUEST_ID="req-event-cents",
    )

    assert response.status_code == 201
    [event] = events()
    # On PostgreSQL the purchase function writes this payload itself: it must be the API's answer, exactly.
    assert event.payload == {"order": response.json()}
    assert (event.payload["order"]["unitPrice"], event.payload["order"]["totalAmount"]) == ("12.35", "37.05")
    assert event.request_id == "req-event-cents"
    assert event.next_attempt_at > event.created_at


@pytest.mark.django_db
def test_a_purchase_that_fails_emits_nothing(auth_client):
    buyer = funded_buyer("5.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=1)

    response = buy(auth_client(buyer), product)

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"
    # Neither order.completed nor the product.sold_out its units would have caused.
    assert events() == []


@pytest.mark.django_db
def test_the_sale_of_the_last_units_emits_product_sold_out(auth_client):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=3)

    assert buy(auth_client(buyer), product, quantity=2).status_code == 201
    assert events("product.sold_out") == []
    assert buy(auth_client(buyer), product, quantity=1).status_code == 201

    [sold_out] = events("product.sold_out")
    public = auth_client(buyer).get(f"/api/v1/products/{product.id}").json()
    assert sold_out.payload == {"product": {**public, "availableUnits": 0}}
    # The first sale's event, then the two of the second sale (one transaction: in no set order).
    types = [e.type for e in events()]
    assert types[0] == "order.completed"
    assert sorted(types[1:]) == ["order.completed", "product.sold_out"]


@pytest.mark.django_db
def test_every_refund_emits_order_refunded_with_the_amounts_of_that_refund(auth_client):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("30.00"), available_units=5)
    order_id = buy(auth_client(buyer), product).json()["id"]
    merchant = auth_client(product.merchant)

    assert merchant.post(f"{ORDERS}/{order_id}/refund", {"amount": "10.00"}, format="json").status_code == 200
    assert merchant.post(f"{ORDERS}/{order_id}/refund", {}, format="json").status_code == 200

    partial, whole = (event.payload["order"] for event in events("order.refunded"))
    assert (partial["status"], partial["refundedAmount"], len(partial["refunds"])) == ("PARTIALLY_REFUNDED", "10.00", 1)
    assert (whole["status"], whole["refundedAmount"], len(whole["refunds"])) == ("REFUNDED", "30.00", 2)
    # The order.completed of the sale still says what the sale committed.
    [completed] = events("order.completed")
    assert completed.payload["order"]["status"] == "COMPLETED"


@pytest.mark.django_db
class TestCardOrderEvents:
    @pytest.fixture
    def pending(self, stripe_settings, auth_client) -> Order:
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=1)
        return Order.objects.get(id=card_order(auth_client(buyer), product).json()["id"])

    def test_a_reservation_emits_nothing_until_paid_then_order_completed_without_the_client_secret(self, pending):
        # The reservation took the last unit: sold out, but no order event yet.
        assert [e.type for e in events()] == ["product.sold_out"]

        order_complete_card_payment(
            order_id=pending.id, payment_intent_id=pending.payment_intent_id, amount_minor=500, currency="usd"
        )

        [completed] = events("order.completed")
        order = completed.payload["order"]
        assert (order["id"], order["status"], order["paymentMethod"]) == (str(pending.id), "COMPLETED", "GATEWAY")
        assert order["payment"]["paymentIntentId"] == pending.payment_intent_id
        assert order["payment"]["clientSecret"] is None

    def test_a_failed_payment_emits_order_failed_once(self, pending):
        order_fail(order_id=pending.id, reason="Card declined", source=StatusChangeSource.WEBHOOK)
        order_fail(order_id=pending.id, reason="Card declined", source=StatusChangeSource.WEBHOOK)

        [failed] = events("order.failed")
        assert failed.payload["order"]["status"] == "FAILED"

    def test_an_expired_reservation_emits_order_expired(self, pending):
        order_expire(order_id=pending.id)

        pending.refresh_from_db()
        assert pending.status == OrderStatus.EXPIRED
        [expired] = events("order.expired")
        assert expired.payload["order"]["status"] == "EXPIRED"
        assert events("order.failed") == []


@pytest.fixture
def celery_worker_include() -> tuple[str, ...]:
    return ("core.tests.outbox_recorder",)


@pytest.fixture
def celery_worker_env(tmp_path) -> dict[str, str]:
    return {"OUTBOX_TEST_RECORD": str(tmp_path / "record.txt")}


@pytest.mark.django_db(transaction=True)
def test_a_purchase_through_the_api_reaches_the_worker_with_its_request_id(celery_worker, auth_client, tmp_path):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)

    response = buy(auth_client(buyer), product)

    [event] = events()
    assert event.request_id == response["X-Request-ID"]
    wait_for(lambda: OutboxEvent.objects.get(id=event.id).published_at, message="order.completed published")
    assert (tmp_path / "record.txt").read_text().splitlines() == [f"start {event.id}", f"done {event.id}"]


@pytest.mark.django_db(transaction=True)
def test_a_sale_made_while_the_broker_is_down_is_published_by_the_sweep(celery_worker, tmp_path):
    buyer = funded_buyer("100.00")
    product = ProductFactory()
    # The web server's broker is a port nobody listens on: every enqueue at commit fails.
    env = {**database_environment(), "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as server:
        response = requests.post(
            f"{server.url}{API}/orders",
            json={"productId": str(product.id), "paymentMethod": "WALLET"},
            headers={"Authorization": f"Bearer {token_pair_for(user=buyer).access}"},
            timeout=30,
        )
        assert response.status_code == 201, server.log()
        assert "not queued" in server.log()

    [event] = OutboxEvent.objects.all()
    assert (event.type, event.published_at, event.attempts) == ("order.completed", None, 0)
    # Beat's sweep finds it once it is due (a minute later).
    OutboxEvent.objects.filter(id=event.id).update(next_attempt_at=timezone.now())
    assert outbox_sweep() == 1
    wait_for(lambda: OutboxEvent.objects.get(id=event.id).published_at, message="the missed event published")
    assert (tmp_path / "record.txt").read_text().splitlines() == [f"start {event.id}", f"done {event.id}"]
