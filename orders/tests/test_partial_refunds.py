"""Partial and repeated refunds, of wallet and card orders, and refunds made in Stripe's dashboard."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core import gateway
from core.money import to_minor_units
from core.tests.localstripe import stripe_test_client
from core.tests.threads import run_together
from orders.models import Order, OrderStatus, PaymentMethod, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from orders.services import order_purchase
from orders.tests.helpers import balance, card_order_pay, funded_buyer, platform_revenue
from orders.tests.test_card import post_event, signed_event
from wallets.models import SYSTEM_WALLET_IDS, Journal, LedgerEntry, WalletKind
from wallets.services import wallet_withdraw
from wallets.tests.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
D = Decimal


def refund(client, order_id, **body):
    return client.post(f"{ORDERS}/{order_id}/refund", body, format="json")


def reconcile(*args) -> dict:
    out = StringIO()
    call_command("reconcile", "--json", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def account_total(wallet_kind) -> Decimal:
    total = LedgerEntry.objects.filter(wallet_id=SYSTEM_WALLET_IDS[wallet_kind]).aggregate(s=Sum("amount"))["s"]
    return total or D("0.00")


@pytest.fixture
def fee_order(settings, auth_client):
    """3 x 3.33 = 9.99 paid from the wallet at a 7.5% fee (0.75): amounts that do not divide evenly."""
    settings.PLATFORM_FEE_PERCENT = D("7.5")
    buyer = funded_buyer("20.00")
    product = ProductFactory(price=D("3.33"), available_units=10)
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=3, method=PaymentMethod.WALLET)
    assert (order.total_amount, order.fee_amount) == (D("9.99"), D("0.75"))
    return order, buyer, product.merchant, auth_client(product.merchant)


def test_refunds_of_1_then_2_then_the_rest_net_every_account_to_zero(fee_order):
    order, buyer, merchant, client = fee_order

    first = refund(client, order.id, amount="1.00", reason="Scratched")
    assert (first.status_code, first.json()["status"], first.json()["refundedAmount"]) == (
        200,
        "PARTIALLY_REFUNDED",
        "1.00",
    )
    assert Product.objects.get(id=order.product_id).available_units == 7  # units come back only at the end
    second = refund(client, order.id, amount=2)
    rest = refund(client, order.id)

    assert (second.json()["status"], second.json()["refundedAmount"]) == ("PARTIALLY_REFUNDED", "3.00")
    body = rest.json()
    assert (rest.status_code, body["status"], body["refundedAmount"]) == (200, "REFUNDED", "9.99")
    assert [(r["amount"], r["status"], r["reason"]) for r in body["refunds"]] == [
        ("1.00", "SUCCEEDED", "Scratched"),
        ("2.00", "SUCCEEDED", ""),
        ("6.99", "SUCCEEDED", ""),
    ]
    # The fee comes back pro rata, half-up (0.0751 -> 0.08, 0.1502 -> 0.15), the last refund the exact rest.
    assert list(Refund.objects.filter(order=order).values_list("fee_amount", flat=True)) == [
        D("0.08"),
        D("0.15"),
        D("0.52"),
    ]
    assert (balance(buyer), balance(merchant), platform_revenue()) == (D("20.00"), D("0.00"), D("0.00"))
    assert Product.objects.get(id=order.product_id).available_units == 10
    assert list(order.status_changes.values_list("to_status", flat=True)) == [
        "COMPLETED",
        "PARTIALLY_REFUNDED",
        "REFUNDED",
    ]
    assert Journal.objects.filter(order_id=order.id, kind="REFUND").count() == 3
    assert_ledger_consistent()
    assert reconcile()["clean"]


def test_more_than_is_left_is_400_and_writes_nothing(fee_order):
    order, buyer, _merchant, client = fee_order
    refund(client, order.id, amount="9.00")

    response = refund(client, order.id, amount="1.00")

    assert (response.status_code, response.json()["code"]) == (400, "amount_above_refundable")
    assert "0.99 is left" in response.json()["detail"]
    assert Refund.objects.filter(order=order).count() == 1
    assert Order.objects.get(id=order.id).status == OrderStatus.PARTIALLY_REFUNDED
    assert balance(buyer) == D("19.01")


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.005", "abc", "+1"])
def test_an_invalid_amount_is_400_validation_error(fee_order, amount):
    order, _, _, client = fee_order

    response = refund(client, order.id, amount=amount)

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert "amount" in response.json()["errors"]
    assert not Refund.objects.filter(order=order).exists()


def test_a_wholly_refunded_order_cannot_be_refunded_again(fee_order):
    order, _, _, client = fee_order
    refund(client, order.id)

    response = refund(client, order.id, amount="1.00")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_order_state")


def test_the_merchant_cannot_give_back_more_than_it_holds(fee_order):
    order, buyer, merchant, client = fee_order
    wallet_withdraw(user=merchant, amount=D("5.00"))  # 9.24 earned, 4.24 left

    response = refund(client, order.id, amount="6.00")

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_funds")
    assert (balance(buyer), balance(merchant)) == (D("10.01"), D("4.24"))
    assert not Refund.objects.filter(order=order).exists()
    assert refund(client, order.id, amount="4.00").status_code == 200


def test_an_idempotency_key_replays_a_partial_refund(fee_order):
    order, buyer, _, client = fee_order

    first = client.post(f"{ORDERS}/{order.id}/refund", {"amount": "2.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-2")
    again = client.post(f"{ORDERS}/{order.id}/refund", {"amount": "2.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-2")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert again.json() == first.json()
    assert Refund.objects.filter(order=order).count() == 1
    assert balance(buyer) == D("12.01")


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_refunds_of_5_on_a_30_order_exactly_six_succeed(auth_client):
    buyer = funded_buyer("30.00")
    product = ProductFactory(price=D("30.00"), available_units=1)
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)

    def refund_five(_):
        response = refund(auth_client(product.merchant), order.id, amount="5.00")
        return response.status_code, response.json().get("code")

    results = run_together(10, refund_five)

    # They serialize on the order's row: six take 5.00 each, the other four find it wholly refunded.
    assert sorted(results, key=str) == sorted([(200, None)] * 6 + [(409, "invalid_order_state")] * 4, key=str)
    assert Refund.objects.filter(order=order, status=RefundStatus.SUCCEEDED).count() == 6
    assert (balance(buyer), balance(product.merchant)) == (D("30.00"), D("0.00"))
    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert Product.objects.get(id=product.id).available_units == 1
    assert_ledger_consistent()


# --- card orders ----------------------------------------------------------------------


@pytest.fixture
def card_order(stripe_settings):
    """A paid card order of 30.00 and its merchant, with 100.00 besides in its wallet."""
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, price=D("30.00"), available_units=2)
    order = order_purchase(buyer=UserFactory(), product_id=product.id, quantity=1, method=PaymentMethod.GATEWAY)
    order = card_order_pay(order)
    return order, merchant


def stripe_refunds(order) -> list[int]:
    return sorted(r.amount_minor for r in gateway.refund_list(payment_intent_id=order.payment_intent_id))


def test_each_card_refund_is_a_stripe_refund_of_its_amount_keyed_by_its_id(card_order, auth_client):
    order, merchant = card_order
    client = auth_client(merchant)

    assert refund(client, order.id, amount="10.00").json()["status"] == "PARTIALLY_REFUNDED"
    assert refund(client, order.id, amount="5.50").json()["status"] == "PARTIALLY_REFUNDED"
    last = refund(client, order.id)

    assert (last.json()["status"], last.json()["refundedAmount"]) == ("REFUNDED", "30.00")
    assert stripe_refunds(order) == [550, 1000, 1450]
    for made in gateway.refund_list(payment_intent_id=order.payment_intent_id):
        ours = Refund.objects.get(id=made.metadata["refund_id"])
        assert (ours.gateway_refund_id, to_minor_units(ours.amount)) == (made.id, made.amount_minor)
    assert balance(merchant) == D("0.00")
    assert reconcile("--gateway")["clean"]


def charge_refunded(settings, order):
    charge = {"id": "ch_x", "object": "charge", "payment_intent": order.payment_intent_id, "refunded": True}
    return signed_event(settings, event_type="charge.refunded", intent=charge)


@pytest.mark.parametrize("amount_minor", [1200, None], ids=["partial", "full"])
def test_a_refund_made_in_stripes_dashboard_is_recorded_once_with_the_same_legs(
    card_order, api_client, stripe_settings, amount_minor
):
    order, merchant = card_order
    params = {"payment_intent": order.payment_intent_id, **({"amount": amount_minor} if amount_minor else {})}
    made = stripe_test_client().v1.refunds.create(params)
    body, header = charge_refunded(stripe_settings, order)

    assert post_event(api_client, body, header).status_code == 200
    # The same refund seen again, in another event, changes nothing more.
    again, header = charge_refunded(stripe_settings, order)
    assert post_event(api_client, again, header).status_code == 200

    [recorded] = Refund.objects.filter(order=order)
    amount = D(made.amount) / 100
    assert (recorded.status, recorded.amount, recorded.gateway_refund_id) == (RefundStatus.SUCCEEDED, amount, made.id)
    assert recorded.reason == "Refunded at Stripe"
    order.refresh_from_db()
    assert order.status == ("PARTIALLY_REFUNDED" if amount_minor else "REFUNDED")
    assert balance(merchant) == D("30.00") - amount
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {WebhookOutcome.PROCESSED}
    assert reconcile("--gateway")["clean"]


def test_api_and_dashboard_refunds_mixed_reconcile_clean(card_order, api_client, auth_client, stripe_settings):
    order, merchant = card_order
    client = auth_client(merchant)

    refund(client, order.id, amount="4.00")
    stripe_test_client().v1.refunds.create({"payment_intent": order.payment_intent_id, "amount": 650})
    post_event(api_client, *charge_refunded(stripe_settings, order))
    assert reconcile("--gateway")["clean"]
    last = refund(client, order.id)

    assert (last.json()["status"], last.json()["refundedAmount"]) == ("REFUNDED", "30.00")
    assert [r["amount"] for r in last.json()["refunds"]] == ["4.00", "6.50", "19.50"]
    assert stripe_refunds(order) == [400, 650, 1950]
    assert balance(merchant) == D("0.00")
    assert_ledger_consistent()
    assert reconcile("--gateway")["clean"]


def test_a_dashboard_refund_beyond_the_merchants_balance_is_owed_as_a_receivable(
    card_order, api_client, stripe_settings
):
    order, merchant = card_order
    wallet_withdraw(user=merchant, amount=D("25.00"))  # 5.00 left of the 30.00 sale
    stripe_test_client().v1.refunds.create({"payment_intent": order.payment_intent_id})
    body, header = charge_refunded(stripe_settings, order)

    post_event(api_client, body, header)

    assert balance(merchant) == D("0.00")
    assert account_total(WalletKind.RECEIVABLES) == D("-25.00")
    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert_ledger_consistent()
    assert reconcile("--gateway")["clean"]


def test_a_missed_dashboard_refund_is_reported_then_recorded_by_fix(card_order):
    order, _ = card_order
    stripe_test_client().v1.refunds.create({"payment_intent": order.payment_intent_id, "amount": 700})

    out = StringIO()
    with pytest.raises(CommandError):  # discrepancies: exit 1
        call_command("reconcile", "--gateway", "--json", stdout=out, stderr=StringIO())
    document = json.loads(out.getvalue())
    assert [c["name"] for c in document["checks"] if not c["ok"]] == ["gateway_payments"]

    assert reconcile("--gateway", "--fix")["clean"]
    assert Refund.objects.get(order=order).amount == D("7.00")
    assert reconcile("--gateway", "--fix")["clean"]
    assert Refund.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_card_refunds_of_5_on_a_30_order_exactly_six_reach_stripe(stripe_settings, auth_client):
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, price=D("30.00"), available_units=1)
    order = order_purchase(buyer=UserFactory(), product_id=product.id, quantity=1, method=PaymentMethod.GATEWAY)
    card_order_pay(order)

    results = run_together(10, lambda _: refund(auth_client(merchant), order.id, amount="5.00").status_code)

    # The other four find nothing left: 400 while the six are PENDING, 409 once the order is REFUNDED.
    assert results.count(200) == 6
    assert set(results) - {200} <= {400, 409}
    assert stripe_refunds(order) == [500] * 6
    assert Refund.objects.filter(order=order, status=RefundStatus.SUCCEEDED).count() == 6
    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert reconcile("--gateway")["clean"]
