"""Correctly signed events that must not complete or fail an order, and signed bodies that must not be a 500.

Each reproduces an attack that got through before: a succeeded event with
nothing received, another intent naming this order in its metadata, bodies that
are an array, lack a field or are nested 2000 deep.
"""

import json
from decimal import Decimal

import pytest

from catalog.tests.factories import ProductFactory
from core.tests.localstripe import stripe_test_client
from orders.models import Order, OrderStatus, WebhookEvent, WebhookOutcome
from orders.services import order_purchase
from orders.tests.helpers import balance
from orders.tests.test_card import post_event, signed_event, stripe_signature, succeeded_intent
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_order(stripe_settings, user):
    product = ProductFactory(price=Decimal("12.50"), available_units=5)
    return order_purchase(buyer=user, product_id=product.id, quantity=2, method="GATEWAY")


def assert_left_alone(order: Order, *, units: int = 3) -> None:
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert LedgerEntry.objects.filter(order_id=order.id).count() == 0
    assert balance(order.merchant) == Decimal("0.00")
    assert order.product.__class__.objects.get(id=order.product_id).available_units == units


def deliver(stripe_settings, api_client, event_type, intent):
    body, header = signed_event(stripe_settings, event_type=event_type, intent=intent)
    return post_event(api_client, body, header)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"amount_received": 0}, "does not match", id="nothing-received"),
        pytest.param({"amount_received": 2499}, "does not match", id="a-cent-short"),
        pytest.param({"amount_received": 250000}, "does not match", id="more-than-the-total"),
        pytest.param({"currency": "eur"}, "does not match", id="other-currency"),
    ],
)
def test_a_succeeded_event_that_does_not_pay_the_total_fails_and_leaves_the_order(
    stripe_settings, api_client, pending_order, change, reason
):
    response = deliver(
        stripe_settings, api_client, "payment_intent.succeeded", {**succeeded_intent(pending_order), **change}
    )

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.order) == (WebhookOutcome.FAILED, None)
    assert reason in event.detail
    assert_left_alone(pending_order)


def test_another_intent_naming_this_order_in_its_metadata_does_not_complete_it(
    stripe_settings, api_client, pending_order
):
    other = stripe_test_client().v1.payment_intents.create(
        {
            "amount": 2500,
            "currency": "usd",
            "payment_method_types": ["card"],
            "metadata": {"order_id": str(pending_order.id)},
        }
    )
    intent = {**succeeded_intent(pending_order), "id": other.id}

    response = deliver(stripe_settings, api_client, "payment_intent.succeeded", intent)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.FAILED
    assert "is not the one of order" in event.detail
    assert_left_alone(pending_order)
    assert Order.objects.get(id=pending_order.id).payment_intent_id == pending_order.payment_intent_id


def test_another_intent_failing_does_not_fail_this_order(stripe_settings, api_client, pending_order):
    intent = {**succeeded_intent(pending_order), "id": "pi_someone_else", "status": "requires_payment_method"}

    response = deliver(stripe_settings, api_client, "payment_intent.payment_failed", intent)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.FAILED
    assert_left_alone(pending_order)


def test_the_order_own_intent_for_the_total_completes_it(stripe_settings, api_client, pending_order):
    response = deliver(stripe_settings, api_client, "payment_intent.succeeded", succeeded_intent(pending_order))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.COMPLETED
    assert balance(pending_order.merchant) == Decimal("25.00")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps([{"id": "evt_1", "type": "payment_intent.succeeded"}]), id="an-array"),
        pytest.param(json.dumps({"type": "payment_intent.succeeded", "data": {"object": {}}}), id="no-id"),
        pytest.param(json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}), id="no-data"),
        pytest.param(
            json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": []}}), id="data-an-array"
        ),
        pytest.param("[" * 2000 + "]" * 2000, id="nested-2000-deep"),
        pytest.param(
            '{"id": "evt_1", "type": "x", "data": ' + "{" + '"a": {' * 100 + "}" * 101 + "}", id="deep-object"
        ),
        pytest.param("not json", id="not-json"),
    ],
)
def test_a_signed_body_that_is_not_a_well_formed_event_is_400_and_not_stored(stripe_settings, api_client, body):
    # Signed for real: the signature covers this very body.
    response = post_event(api_client, body.encode(), stripe_signature(stripe_settings, body.encode()))

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "missing",
    ["currency", "amount_received", "id"],
)
def test_a_succeeded_event_lacking_a_field_it_needs_is_400_and_not_stored(
    stripe_settings, api_client, pending_order, missing
):
    intent = succeeded_intent(pending_order)
    del intent[missing]

    response = deliver(stripe_settings, api_client, "payment_intent.succeeded", intent)

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert missing in response.json()["detail"]
    assert not WebhookEvent.objects.exists()
    assert_left_alone(pending_order)


def test_a_mistyped_amount_is_400_not_a_crash(stripe_settings, api_client, pending_order):
    intent = {**succeeded_intent(pending_order), "amount_received": "2500"}

    response = deliver(stripe_settings, api_client, "payment_intent.succeeded", intent)

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert_left_alone(pending_order)
