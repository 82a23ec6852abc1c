"""The card-refund state machine against localstripe: every way a PENDING refund ends, and what stops one early."""

import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core import gateway
from core.tests.localstripe import stripe_test_client
from orders.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundKind,
    RefundStatus,
    WebhookEvent,
    WebhookOutcome,
)
from orders.services import order_purchase, order_refund
from orders.services.refunds.card import refund_at_gateway, refund_fail, refund_settle
from orders.tests.helpers import balance, card_order_pay
from orders.tests.test_card import post_event, signed_event
from wallets.models import LedgerEntry
from wallets.services import wallet_withdraw

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


@pytest.fixture
def card_sale(stripe_settings):
    """A paid card order of 25.00 and its merchant."""
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, price=Decimal("25.00"), available_units=5)
    order = order_purchase(buyer=UserFactory(), product_id=product.id, quantity=1, method=PaymentMethod.GATEWAY)
    order = card_order_pay(order)
    return order, merchant


def stripe_refunds(order) -> list[int]:
    return [refund.amount_minor for refund in gateway.refund_list(payment_intent_id=order.payment_intent_id)]


def test_a_card_refund_is_made_at_stripe_with_our_id_and_booked(card_sale, auth_client):
    order, merchant = card_sale

    response = auth_client(merchant).post(f"{ORDERS}/{order.id}/refund", HTTP_IDEMPOTENCY_KEY="refund-1")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == OrderStatus.REFUNDED
    [refund] = Refund.objects.filter(order=order)
    [made] = gateway.refund_list(payment_intent_id=order.payment_intent_id)
    assert (refund.status, refund.gateway_refund_id) == (RefundStatus.SUCCEEDED, made.id)
    assert made.metadata["refund_id"] == str(refund.id)
    assert balance(merchant) == Decimal("0.00")
    replay = auth_client(merchant).post(f"{ORDERS}/{order.id}/refund", HTTP_IDEMPOTENCY_KEY="refund-1")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (200, "true")
    assert stripe_refunds(order) == [2500]


@pytest.mark.django_db(transaction=True)
def test_a_keyed_refund_stripe_did_not_answer_is_kept_pending_and_the_retry_finishes_it(
    card_sale, auth_client, localstripe_server, monkeypatch
):
    monkeypatch.setattr(gateway, "READ_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(gateway, "MAX_NETWORK_RETRIES", 0)
    order, merchant = card_sale
    client = auth_client(merchant)

    with localstripe_server.frozen():
        first = client.post(f"{ORDERS}/{order.id}/refund", HTTP_IDEMPOTENCY_KEY="refund-frozen")

    # The PENDING refund was committed before Stripe was asked, and stays: nothing rolled it back.
    assert (first.status_code, first.json()["code"]) == (502, "gateway_error")
    [refund] = Refund.objects.filter(order=order)
    assert refund.status == RefundStatus.PENDING
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    retry = client.post(f"{ORDERS}/{order.id}/refund", HTTP_IDEMPOTENCY_KEY="refund-frozen")

    assert retry.status_code == 200, retry.content
    assert retry.json()["status"] == OrderStatus.REFUNDED
    assert stripe_refunds(order) == [2500]
    assert [r.status for r in Refund.objects.filter(order=order)] == [RefundStatus.SUCCEEDED]


def test_a_refund_stripe_refuses_fails_and_changes_nothing(card_sale):
    order, merchant = card_sale
    Order.objects.filter(id=order.id).update(payment_intent_id="pi_unknown_to_stripe")

    with pytest.raises(gateway.GatewayError) as excinfo:
        order_refund(order_id=order.id, actor=merchant)

    assert not excinfo.value.outcome_unknown
    [refund] = Refund.objects.filter(order=order)
    assert (refund.status, refund.settled_at is not None) == (RefundStatus.FAILED, True)
    assert "refused" in refund.failure_reason
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert balance(merchant) == Decimal("25.00")


def test_a_merchant_balance_below_its_share_is_409_before_stripe_is_asked(card_sale, auth_client):
    order, merchant = card_sale
    wallet_withdraw(user=merchant, amount=Decimal("20.00"))

    response = auth_client(merchant).post(f"{ORDERS}/{order.id}/refund")

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_funds")
    assert not Refund.objects.filter(order=order).exists()
    assert stripe_refunds(order) == []
    assert (Order.objects.get(id=order.id).status, balance(merchant)) == (OrderStatus.COMPLETED, Decimal("5.00"))


def test_a_busy_gateway_fails_a_fresh_refund_but_keeps_a_resumed_one_pending(card_sale, monkeypatch):
    order, merchant = card_sale

    def busy(**kwargs):
        raise gateway.GatewayBusy()

    monkeypatch.setattr(gateway, "refund_create", busy)
    monkeypatch.setattr(gateway, "refund_list", busy)
    with pytest.raises(gateway.GatewayBusy):
        order_refund(order_id=order.id, actor=merchant)
    assert Refund.objects.get(order=order).status == RefundStatus.FAILED

    pending = Refund.objects.create(
        order=order, amount=order.total_amount, status=RefundStatus.PENDING, source="API", actor=merchant
    )
    with pytest.raises(gateway.GatewayBusy):
        refund_at_gateway(refund_id=pending.id, resume=True)
    pending.refresh_from_db()
    assert pending.status == RefundStatus.PENDING


def test_stripes_refund_event_settles_a_pending_refund(card_sale, api_client, stripe_settings):
    order, merchant = card_sale
    # Our refund, made at Stripe, whose answer never came back here.
    refund = Refund.objects.create(
        order=order, amount=order.total_amount, status=RefundStatus.PENDING, source="API", actor=merchant
    )
    stripe_test_client().v1.refunds.create(
        {"payment_intent": order.payment_intent_id, "metadata": {"refund_id": str(refund.id)}}
    )
    charge = {"id": "ch_x", "object": "charge", "payment_intent": order.payment_intent_id, "refunded": True}
    body, header = signed_event(stripe_settings, event_type="charge.refunded", intent=charge)

    assert post_event(api_client, body, header).status_code == 200

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED
    assert LedgerEntry.objects.filter(order_id=order.id, journal__kind="REFUND").exists()
    assert Product.objects.get(id=order.product_id).available_units == 5


def reconcile(*args) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("reconcile", "--json", *args, stdout=out, stderr=StringIO())
    except Exception as exc:  # CommandError carries the exit code
        return exc.returncode, json.loads(out.getvalue()) if out.getvalue() else {}
    return 0, json.loads(out.getvalue())


def failing(document) -> dict:
    return {check["name"]: check["examples"] for check in document["checks"] if not check["ok"]}


def test_reconcile_names_a_refund_left_pending_and_fix_settles_it(card_sale, monkeypatch):
    order, merchant = card_sale
    refund = Refund.objects.create(
        order=order, amount=order.total_amount, status=RefundStatus.PENDING, source="API", actor=merchant
    )
    Refund.objects.filter(id=refund.id).update(created_at=timezone.now() - timedelta(minutes=11))

    code, document = reconcile()
    assert code == 1
    assert failing(document) == {"stale_pending_refunds": [str(refund.id)]}

    # Stripe never heard of it: --fix asks for it now (its own id as the key), then books it.
    code, document = reconcile("--gateway", "--fix")
    assert code == 0, failing(document)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert stripe_refunds(order) == [2500]
    assert reconcile("--gateway", "--fix")[0] == 0
    assert stripe_refunds(order) == [2500]


def test_fix_needs_the_gateway_check():
    code, _ = reconcile("--fix")

    assert code == 2


def test_a_failed_webhook_event_is_reported_until_an_operator_dismisses_it(card_sale, api_client, stripe_settings):
    order, _ = card_sale
    intent = {
        "id": "pi_elsewhere",
        "amount_received": 1,
        "currency": "usd",
        "metadata": {"order_id": str(order.id)},
    }
    body, header = signed_event(stripe_settings, event_type="payment_intent.succeeded", intent=intent)
    post_event(api_client, body, header)
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.FAILED

    code, document = reconcile("--gateway")
    assert (code, failing(document)) == (1, {"failed_webhook_events": [event.event_id]})

    from orders.services.webhooks import webhook_event_dismiss

    webhook_event_dismiss(event_pk=event.pk, operator="ops@example.com")
    assert reconcile("--gateway")[0] == 0
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.IGNORED
    assert "dismissed by ops@example.com" in event.detail


@contextmanager
def product_row_held_elsewhere(product_id):
    """Hold the product's row lock (SELECT ... FOR UPDATE) in another connection; wait at most 2 s for a lock here."""
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Product.objects.select_for_update().get(id=product_id)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=10), "the product row was not locked"
        with connection.cursor() as cursor:
            # A path that asks for the product row fails (LockNotAvailable) instead of hanging the test.
            cursor.execute("SET lock_timeout = '2s'")
        yield
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def pending_refund(order, *, kind: str) -> Refund:
    return Refund.objects.create(
        order=order, kind=kind, amount=order.total_amount, status=RefundStatus.PENDING, source="API"
    )


def stripe_says(refund: Refund, *, status: str) -> gateway.RefundInfo:
    return gateway.RefundInfo(
        id="re_locks",
        status=status,
        amount_minor=2500,
        currency="usd",
        payment_intent_id=refund.order.payment_intent_id,
    )


@pytest.mark.django_db(transaction=True)
def test_failing_a_refund_does_not_wait_for_the_product_row(card_sale):
    order, merchant = card_sale
    refund = pending_refund(order, kind=RefundKind.SALE)

    with product_row_held_elsewhere(order.product_id):
        failed = refund_fail(refund_id=refund.id, reason="Stripe refused the refund")

    assert failed.status == RefundStatus.FAILED
    assert (Order.objects.get(id=order.id).status, balance(merchant)) == (OrderStatus.COMPLETED, Decimal("25.00"))


@pytest.mark.django_db(transaction=True)
def test_returning_a_late_payment_does_not_wait_for_the_product_row(card_sale):
    order, _ = card_sale
    refund = pending_refund(order, kind=RefundKind.LATE_PAYMENT)
    entries = LedgerEntry.objects.count()

    with product_row_held_elsewhere(order.product_id):
        returned = refund_settle(refund_id=refund.id, gateway_refund=stripe_says(refund, status="succeeded"))

    assert (returned.status, returned.gateway_refund_id) == (RefundStatus.SUCCEEDED, "re_locks")
    assert LedgerEntry.objects.count() == entries


@pytest.mark.django_db(transaction=True)
def test_settling_a_sale_refund_still_takes_the_product_row(card_sale):
    # The control of the two above: booking a refund moves money and may return units, so it waits.
    order, merchant = card_sale
    refund = pending_refund(order, kind=RefundKind.SALE)

    with product_row_held_elsewhere(order.product_id), pytest.raises(OperationalError):
        refund_settle(refund_id=refund.id, gateway_refund=stripe_says(refund, status="succeeded"))

    refund.refresh_from_db()
    assert (refund.status, balance(merchant)) == (RefundStatus.PENDING, Decimal("25.00"))
