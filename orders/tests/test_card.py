"""Card (GATEWAY) orders against localstripe: reservation, webhook inbox, expiry, refunds."""

import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.models import OutboxEvent
from core.tests.localstripe import CARD_DECLINED, confirm_payment_intent, stripe_test_client
from core.tests.threads import run_together
from delivery.models import Delivery
from orders.models import Order, OrderStatus, OrderStatusChange, WebhookEvent, WebhookOutcome
from orders.services.webhooks import webhook_event_process
from orders.tests.helpers import balance, entries_for_order, funded_buyer, platform_revenue
from wallets.models import LedgerEntry, WalletKind
from wallets.tests.factories import assert_ledger_consistent

ORDERS = "/api/v1/orders"
WEBHOOK = "/api/v1/payments/stripe/webhook"


def card_order(client, product, *, quantity=1):
    return client.post(
        ORDERS, {"productId": str(product.id), "paymentMethod": "GATEWAY", "quantity": quantity}, format="json"
    )


def clearing_balance() -> Decimal:
    entries = LedgerEntry.objects.filter(wallet__kind=WalletKind.GATEWAY_CLEARING)
    return sum((e.amount for e in entries), Decimal("0.00"))


def wait_for(predicate, *, timeout=15.0):
    """Poll until `predicate()` is truthy (localstripe delivers webhooks about a second later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the webhook")


def signed_event(settings, *, event_type, intent, event_id=None, timestamp=None, secret=None):
    """Return (body, Stripe-Signature header) for an event signed like Stripe signs it."""
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": intent},
        }
    ).encode()
    return body, stripe_signature(settings, body, timestamp=timestamp, secret=secret)


def stripe_signature(settings, body: bytes, *, timestamp=None, secret=None) -> str:
    """Return the Stripe-Signature header Stripe would send with `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    signature = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def post_event(client, body, header):
    """POST a signed event as Stripe does, then process what it stored as the worker's task does.

    The task's body runs here, so a test reads the outcome at once; the worker itself
    runs in orders/tests/test_webhook_worker.py and the localstripe end-to-end tests.
    """
    response = client.generic("POST", WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
    if response.status_code == 200:
        webhook_event_process(event_pk=WebhookEvent.objects.get(event_id=json.loads(body)["id"]).pk)
    return response


def outcome_of(body) -> str:
    return WebhookEvent.objects.get(event_id=json.loads(body)["id"]).outcome


def succeeded_intent(order: Order, *, amount_minor=None) -> dict:
    amount = amount_minor if amount_minor is not None else int(order.total_amount * 100)
    return {
        "id": order.payment_intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": order.currency.lower(),
        "status": "succeeded",
        "metadata": {"order_id": str(order.id)},
    }


@pytest.mark.django_db
class TestCardOrderCreation:
    def test_reserves_units_and_returns_the_payment(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("12.50"), available_units=5)

        response = card_order(auth_client(buyer), product, quantity=2)

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["status"] == "PENDING"
        assert body["paymentMethod"] == "GATEWAY"
        assert body["totalAmount"] == "25.00"
        payment = body["payment"]
        assert payment["provider"] == "stripe"
        assert payment["paymentIntentId"].startswith("pi_")
        assert payment["clientSecret"]
        assert payment["expiresAt"]
        product.refresh_from_db()
        assert product.available_units == 3
        intent = stripe_test_client().v1.payment_intents.retrieve(payment["paymentIntentId"])
        assert (intent.amount, intent.currency, intent.metadata["order_id"]) == (2500, "usd", body["id"])
        # No money moves until the payment succeeds.
        assert LedgerEntry.objects.filter(order_id=body["id"]).count() == 0

    @pytest.mark.parametrize(
        "state", [{}, {"available_units": 0}, {"is_active": False}], ids=["in stock", "sold out", "inactive"]
    )
    def test_own_product_is_400_before_its_state_and_reserves_nothing(self, stripe_settings, auth_client, state):
        # One unit: a reservation that took it would also have written product.sold_out.
        product = ProductFactory(price=Decimal("3.00"), available_units=1)
        Product.objects.filter(id=product.id).update(**state)
        product.refresh_from_db()

        response = card_order(auth_client(product.merchant), product)

        assert response.status_code == 400
        assert response.json()["code"] == "cannot_buy_own_product"
        refreshed = Product.objects.get(id=product.id)
        assert refreshed.available_units == product.available_units
        assert not Order.objects.exists() and not Delivery.objects.exists()
        assert not OutboxEvent.objects.exists()

    def test_only_the_buyer_sees_the_client_secret(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=5)
        order_id = card_order(auth_client(buyer), product).json()["id"]

        assert auth_client(buyer).get(f"{ORDERS}/{order_id}").json()["payment"]["clientSecret"]
        assert auth_client(product.merchant).get(f"{ORDERS}/{order_id}").json()["payment"]["clientSecret"] is None

    def test_without_stripe_keys_is_503_and_reserves_nothing(self, settings, auth_client):
        settings.STRIPE_SECRET_KEY = ""
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=5)

        response = card_order(auth_client(buyer), product)

        assert response.status_code == 503
        assert response.json()["code"] == "gateway_unavailable"
        product.refresh_from_db()
        assert product.available_units == 5
        assert Order.objects.count() == 0

    def test_gateway_down_fails_the_order_and_releases_units(self, stripe_settings, auth_client):
        stripe_settings.STRIPE_API_BASE = "http://127.0.0.1:1"
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=5)

        response = card_order(auth_client(buyer), product)

        assert response.status_code == 502
        assert response.json()["code"] == "gateway_error"
        product.refresh_from_db()
        assert product.available_units == 5
        order = Order.objects.get()
        assert order.status == OrderStatus.FAILED
        assert "gateway" in order.failure_reason.lower()
        assert list(order.status_changes.values_list("to_status", flat=True)) == ["PENDING", "FAILED"]

    def test_idempotent_retry_creates_one_order_and_one_intent(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=5)
        client = auth_client(buyer)
        body = {"productId": str(product.id), "paymentMethod": "GATEWAY"}

        first = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="card-1")
        second = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="card-1")

        assert first.status_code == second.status_code == 201
        assert second["Idempotent-Replayed"] == "true"
        assert second.json()["payment"]["paymentIntentId"] == first.json()["payment"]["paymentIntentId"]
        assert Order.objects.count() == 1
        product.refresh_from_db()
        assert product.available_units == 4

    def test_out_of_stock_reserves_nothing(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=1)
        response = card_order(auth_client(buyer), product, quantity=2)
        assert response.status_code == 409
        assert response.json()["code"] == "out_of_stock"
        assert Order.objects.count() == 0


@pytest.mark.django_db
class TestWebhookInbox:
    @pytest.fixture
    def pending(self, stripe_settings, auth_client, settings):
        settings.PLATFORM_FEE_PERCENT = Decimal("2.5")
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("19.99"), available_units=10)
        order_id = card_order(auth_client(buyer), product, quantity=3).json()["id"]
        return Order.objects.get(id=order_id)

    def test_succeeded_completes_and_credits_the_merchant_once(self, pending, settings, api_client):
        body, header = signed_event(settings, event_type="payment_intent.succeeded", intent=succeeded_intent(pending))

        first = post_event(api_client, body, header)
        second = post_event(api_client, body, header)

        assert first.status_code == second.status_code == 200
        assert first.json() == {"received": True, "outcome": "RECEIVED"}
        assert second.json() == {"received": True, "outcome": "PROCESSED"}
        pending.refresh_from_db()
        assert pending.status == OrderStatus.COMPLETED
        assert balance(pending.merchant) == Decimal("58.47")
        assert platform_revenue() == Decimal("1.50")
        assert entries_for_order(pending.id) == {
            "PURCHASE": Decimal("-59.97"),
            "SALE": Decimal("58.47"),
            "FEE": Decimal("1.50"),
        }
        assert clearing_balance() == Decimal("-59.97")
        assert WebhookEvent.objects.get().attempts == 1
        assert_ledger_consistent()

    @pytest.mark.parametrize(
        "header",
        ["", "t=1,v1=deadbeef", "garbage"],
        ids=["missing", "wrong", "garbage"],
    )
    def test_bad_signature_is_400_and_changes_nothing(self, pending, settings, api_client, header):
        body, _good = signed_event(settings, event_type="payment_intent.succeeded", intent=succeeded_intent(pending))
        response = api_client.generic(
            "POST", WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        assert WebhookEvent.objects.count() == 0
        pending.refresh_from_db()
        assert pending.status == OrderStatus.PENDING

    def test_no_signature_header_is_400(self, pending, settings, api_client):
        body, _header = signed_event(settings, event_type="payment_intent.succeeded", intent=succeeded_intent(pending))
        response = api_client.generic("POST", WEBHOOK, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        assert WebhookEvent.objects.count() == 0

    def test_signed_with_another_secret_is_400(self, pending, settings, api_client):
        body, header = signed_event(
            settings, event_type="payment_intent.succeeded", intent=succeeded_intent(pending), secret="whsec_other"
        )
        assert post_event(api_client, body, header).status_code == 400
        assert WebhookEvent.objects.count() == 0

    @pytest.mark.parametrize("skew", [-301, 301], ids=["stale", "future"])
    def test_timestamp_outside_tolerance_is_400(self, pending, settings, api_client, skew):
        body, header = signed_event(
            settings,
            event_type="payment_intent.succeeded",
            intent=succeeded_intent(pending),
            timestamp=int(time.time()) + skew,
        )
        assert post_event(api_client, body, header).status_code == 400
        assert WebhookEvent.objects.count() == 0

    def test_unknown_event_type_is_stored_and_ignored(self, settings, api_client, stripe_settings):
        body, header = signed_event(settings, event_type="customer.created", intent={"id": "cus_1"})
        response = post_event(api_client, body, header)
        assert response.status_code == 200
        assert outcome_of(body) == "IGNORED"
        assert WebhookEvent.objects.get().type == "customer.created"

    def test_amount_mismatch_is_recorded_as_failed_and_completes_nothing(self, pending, settings, api_client):
        intent = succeeded_intent(pending, amount_minor=100)
        body, header = signed_event(settings, event_type="payment_intent.succeeded", intent=intent)

        response = post_event(api_client, body, header)

        assert response.status_code == 200
        event = WebhookEvent.objects.get()
        assert (event.outcome, event.order_id) == (WebhookOutcome.FAILED, None)
        assert "does not match" in event.detail
        pending.refresh_from_db()
        assert pending.status == OrderStatus.PENDING
        assert LedgerEntry.objects.filter(order_id=pending.id).count() == 0

    def test_failed_event_can_be_reprocessed(self, pending, settings, api_client):
        from orders.services.webhooks import webhook_event_process

        settings.PLATFORM_FEE_PERCENT = Decimal("0")
        intent = succeeded_intent(pending)
        intent["metadata"] = {}
        intent["id"] = "pi_unknown"
        body, header = signed_event(settings, event_type="payment_intent.succeeded", intent=intent)
        post_event(api_client, body, header)
        event = WebhookEvent.objects.get()
        assert event.outcome == WebhookOutcome.FAILED
        # An operator links the payment to its order, then reprocesses the event.
        Order.objects.filter(id=pending.id).update(payment_intent_id="pi_unknown")

        event = webhook_event_process(event_pk=event.pk)

        assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 2)
        pending.refresh_from_db()
        assert pending.status == OrderStatus.COMPLETED

    def test_payment_failed_fails_the_order_and_releases_units(self, pending, settings, api_client):
        intent = succeeded_intent(pending)
        intent.update(status="requires_payment_method", last_payment_error={"message": "Your card was declined."})
        body, header = signed_event(settings, event_type="payment_intent.payment_failed", intent=intent)

        assert post_event(api_client, body, header).status_code == 200

        pending.refresh_from_db()
        assert pending.status == OrderStatus.FAILED
        assert pending.failure_reason == "Your card was declined."
        pending.product.refresh_from_db()
        assert pending.product.available_units == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_credit_once(stripe_settings, settings):
    buyer = funded_buyer("0")
    product = ProductFactory(price=Decimal("10.00"), available_units=10)
    client = APIClient()
    from accounts.services import token_pair_for

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=buyer).access}")
    order = Order.objects.get(id=card_order(client, product).json()["id"])
    body, header = signed_event(settings, event_type="payment_intent.succeeded", intent=succeeded_intent(order))
    results = run_together(10, lambda _i: post_event(APIClient(), body, header).status_code)

    assert Counter(results) == {200: 10}
    assert WebhookEvent.objects.count() == 1
    assert LedgerEntry.objects.filter(order_id=order.id, type="SALE").count() == 1
    assert balance(product.merchant) == Decimal("10.00")
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
class TestEndToEndWithLocalstripe:
    """localstripe signs and delivers the webhooks to the live server, as Stripe would; a real worker processes them."""

    @pytest.fixture
    def celery_worker_env(self, stripe_worker_env):
        return stripe_worker_env

    @pytest.fixture
    def buyer_client(self):
        from accounts.services import token_pair_for

        buyer = funded_buyer("0")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=buyer).access}")
        return buyer, client

    @pytest.fixture
    def webhooks(self, live_server, stripe_webhook_to, celery_worker):
        stripe_webhook_to(f"{live_server.url}{WEBHOOK}")

    def test_card_payment_completes_the_order(self, webhooks, buyer_client):
        buyer, client = buyer_client
        product = ProductFactory(price=Decimal("15.00"), available_units=3)
        body = card_order(client, product).json()

        status = confirm_payment_intent(payment_intent_id=body["payment"]["paymentIntentId"])

        assert status == "succeeded"
        order = wait_for(lambda: Order.objects.filter(id=body["id"], status=OrderStatus.COMPLETED).first())
        assert balance(order.merchant) == Decimal("15.00")
        assert balance(buyer) == Decimal("0.00")
        assert WebhookEvent.objects.filter(order=order, outcome=WebhookOutcome.PROCESSED).count() == 1
        assert client.get(f"{ORDERS}/{order.id}").json()["status"] == "COMPLETED"
        product.refresh_from_db()
        assert product.available_units == 2
        assert_ledger_consistent()

    def test_declined_card_fails_the_order_and_releases_units(self, webhooks, buyer_client):
        _buyer, client = buyer_client
        product = ProductFactory(price=Decimal("15.00"), available_units=3)
        body = card_order(client, product, quantity=2).json()

        confirm_payment_intent(payment_intent_id=body["payment"]["paymentIntentId"], payment_method=CARD_DECLINED)

        wait_for(lambda: Order.objects.filter(id=body["id"], status=OrderStatus.FAILED).exists())
        product.refresh_from_db()
        assert product.available_units == 3
        assert LedgerEntry.objects.filter(order_id=body["id"]).count() == 0
        # The intent is cancelled (by the worker, once the failure committed): no second card
        # can pay an order that gave its units back.
        intents = stripe_test_client().v1.payment_intents
        wait_for(lambda: intents.retrieve(body["payment"]["paymentIntentId"]).status == "canceled")

    def test_payment_after_expiry_is_refunded(self, webhooks, buyer_client):
        _buyer, client = buyer_client
        product = ProductFactory(price=Decimal("15.00"), available_units=3)
        body = card_order(client, product).json()
        intent_id = body["payment"]["paymentIntentId"]
        # The buyer pays while the order is being expired, too late for the reservation.
        from orders.services.card import _release_pending

        _release_pending(order_id=body["id"], to_status=OrderStatus.EXPIRED, reason="test", source="COMMAND")

        confirm_payment_intent(payment_intent_id=intent_id)

        event = wait_for(
            lambda: (
                WebhookEvent.objects.filter(type="payment_intent.succeeded")
                .exclude(outcome=WebhookOutcome.RECEIVED)
                .first()
            )
        )
        assert event.outcome == WebhookOutcome.PROCESSED
        assert "refunding it" in event.detail
        order = Order.objects.get(id=body["id"])
        assert order.status == OrderStatus.EXPIRED
        # The return of the late payment is a refund of its own, sent after the event's processing committed.
        returned = wait_for(lambda: order.refunds.filter(status="SUCCEEDED").first())
        assert (returned.kind, returned.amount) == ("LATE_PAYMENT", Decimal("15.00"))
        refunds = stripe_test_client().v1.refunds.list({"payment_intent": intent_id})
        assert [r.amount for r in refunds.data] == [1500]
        assert returned.gateway_refund_id == refunds.data[0].id
        assert refunds.data[0].metadata["refund_id"] == str(returned.id)
        assert LedgerEntry.objects.filter(order_id=order.id).count() == 0

    def test_gateway_refund(self, webhooks, buyer_client):
        _buyer, client = buyer_client
        product = ProductFactory(price=Decimal("15.00"), available_units=3)
        body = card_order(client, product).json()
        intent_id = body["payment"]["paymentIntentId"]
        confirm_payment_intent(payment_intent_id=intent_id)
        order = wait_for(lambda: Order.objects.filter(id=body["id"], status=OrderStatus.COMPLETED).first())
        from accounts.services import token_pair_for

        merchant_client = APIClient()
        merchant_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=order.merchant).access}")

        response = merchant_client.post(f"{ORDERS}/{order.id}/refund")

        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "REFUNDED"
        assert balance(order.merchant) == Decimal("0.00")
        assert clearing_balance() == Decimal("0.00")
        product.refresh_from_db()
        assert product.available_units == 3
        refunds = stripe_test_client().v1.refunds.list({"payment_intent": intent_id})
        assert [r.amount for r in refunds.data] == [1500]
        assert entries_for_order(order.id)["SALE_REVERSAL"] == Decimal("-15.00")
        assert_ledger_consistent()


@pytest.mark.django_db
class TestExpiry:
    def test_expire_orders_cancels_the_intent_and_releases_units(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=4)
        body = card_order(auth_client(buyer), product, quantity=3).json()
        fresh = card_order(auth_client(buyer), product, quantity=1).json()
        Order.objects.filter(id=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

        call_command("expire_orders")

        order = Order.objects.get(id=body["id"])
        assert order.status == OrderStatus.EXPIRED
        assert Order.objects.get(id=fresh["id"]).status == OrderStatus.PENDING
        product.refresh_from_db()
        assert product.available_units == 3
        intent = stripe_test_client().v1.payment_intents.retrieve(body["payment"]["paymentIntentId"])
        assert intent.status == "canceled"
        history = OrderStatusChange.objects.filter(order=order).values_list("to_status", flat=True)
        assert list(history) == ["PENDING", "EXPIRED"]

    def test_dry_run_changes_nothing(self, stripe_settings, auth_client, capsys):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=4)
        body = card_order(auth_client(buyer), product).json()
        Order.objects.filter(id=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

        call_command("expire_orders", "--dry-run")

        assert Order.objects.get(id=body["id"]).status == OrderStatus.PENDING
        assert f"would expire {body['id']}" in capsys.readouterr().out

    def test_paid_intent_is_left_for_the_webhook(self, stripe_settings, auth_client):
        buyer = funded_buyer("0")
        product = ProductFactory(price=Decimal("5.00"), available_units=4)
        body = card_order(auth_client(buyer), product).json()
        confirm_payment_intent(payment_intent_id=body["payment"]["paymentIntentId"])
        Order.objects.filter(id=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

        call_command("expire_orders")

        assert Order.objects.get(id=body["id"]).status == OrderStatus.PENDING
        product.refresh_from_db()
        assert product.available_units == 3


@pytest.mark.django_db(transaction=True)
def test_card_order_with_a_key_holds_no_product_lock_during_the_gateway_call(stripe_settings, monkeypatch):
    from django.db import transaction

    from accounts.services import token_pair_for
    from catalog.models import Product
    from core import gateway

    buyer = funded_buyer("0")
    product = ProductFactory(price=Decimal("5.00"), available_units=5)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=buyer).access}")
    create_intent = gateway.payment_intent_create
    probes = []

    def lock_product(_i):
        with transaction.atomic():
            return Product.objects.select_for_update(nowait=True).get(id=product.id).available_units

    def create_while_probing(**kwargs):
        # Another buyer's purchase must be able to lock the product meanwhile.
        probes.extend(run_together(1, lock_product))
        return create_intent(**kwargs)

    monkeypatch.setattr(gateway, "payment_intent_create", create_while_probing)

    body = {"productId": str(product.id), "paymentMethod": "GATEWAY"}
    response = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="card-lock-1")

    assert response.status_code == 201, response.json()
    assert probes == [4], probes  # the reservation had committed, and the row was free
    replay = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="card-lock-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event",
    [
        {"type": "payment_intent.succeeded", "data": {"object": {}}},
        {"id": "evt_no_data", "type": "payment_intent.succeeded"},
        {"id": "evt_no_type", "data": {"object": {}}},
    ],
    ids=["no-id", "no-data", "no-type"],
)
def test_signed_but_malformed_event_is_400_and_not_stored(stripe_settings, api_client, event):
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    key = stripe_settings.STRIPE_WEBHOOK_SECRET.encode()
    signature = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()

    response = post_event(api_client, body, f"t={timestamp},v1={signature}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_success_for_an_intent_known_only_by_its_metadata_completes_and_records_it(
    stripe_settings, auth_client, api_client
):
    buyer = funded_buyer("0")
    product = ProductFactory(price=Decimal("5.00"), available_units=5)
    order = Order.objects.get(id=card_order(auth_client(buyer), product).json()["id"])
    intent = succeeded_intent(order)
    # As if the process died between creating the intent and saving its id.
    Order.objects.filter(id=order.id).update(payment_intent_id=None)

    body, header = signed_event(stripe_settings, event_type="payment_intent.succeeded", intent=intent)
    assert post_event(api_client, body, header).status_code == 200
    assert outcome_of(body) == "PROCESSED"

    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == (OrderStatus.COMPLETED, intent["id"])


@pytest.mark.django_db
def test_metadata_that_is_not_an_order_id_is_a_failed_event_not_a_500(stripe_settings, api_client):
    intent = {
        "id": "pi_x",
        "amount": 100,
        "amount_received": 100,
        "currency": "usd",
        "metadata": {"order_id": "not-a-uuid"},
    }
    body, header = signed_event(stripe_settings, event_type="payment_intent.succeeded", intent=intent)

    response = post_event(api_client, body, header)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.FAILED
