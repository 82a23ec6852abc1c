"""Stripe frozen (SIGSTOP on localstripe) and resumed: the books end up equal to what Stripe did,
and no request that does not need Stripe waits for it.

localstripe, stopped, accepts connections and answers none, as a stalled
Stripe does; resumed, it serves what was sent meanwhile, requests whose
clients gave up included. That is the case that once split the books: a
refund answered 502 here and made at Stripe anyway.
"""

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from accounts.services import token_pair_for
from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core import gateway
from core.money import to_minor_units
from core.tests.localstripe import confirm_payment_intent, wait_until
from orders.models import Order, OrderStatus, PaymentMethod, RefundStatus, StatusChangeSource
from orders.services import order_purchase, order_refund
from orders.services.card import order_fail
from orders.tests.helpers import card_order_pay
from orders.tests.test_card import post_event, signed_event, succeeded_intent
from paymentflow.tests.security.test_faults import assert_reconcile_clean
from paymentflow.tests.servers import database_environment, gunicorn
from reconciliation import services as reconciliation_services
from wallets.models import SYSTEM_WALLET_IDS, Journal, LedgerEntry, Wallet, WalletKind
from wallets.services import wallet_withdraw
from wallets.tests.factories import fund_wallet

D = Decimal
API = "/api/v1"


@pytest.fixture
def celery_worker_env(stripe_worker_env):
    return stripe_worker_env


@pytest.fixture
def short_gateway_timeouts(monkeypatch):
    """One attempt of about a second: the frozen calls give up fast enough for a test."""
    monkeypatch.setattr(gateway, "CONNECT_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(gateway, "READ_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(gateway, "MAX_NETWORK_RETRIES", 0)
    # --fix takes on every PENDING refund, however young.
    monkeypatch.setattr(reconciliation_services, "FIX_REFUNDS_OLDER_THAN", timedelta(0))


def paid_card_order(*, merchant, price="25.00") -> Order:
    buyer = UserFactory()
    product = ProductFactory(merchant=merchant, price=D(price), available_units=5)
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=1, method=PaymentMethod.GATEWAY)
    order = card_order_pay(order)
    assert order.status == OrderStatus.COMPLETED
    return order


def settle_and_check() -> None:
    """Run what operators schedule: `reconcile --gateway --fix`; it must find the books clean after settling."""
    out = StringIO()
    try:
        call_command("reconcile", "--gateway", "--fix", "--json", stdout=out, stderr=StringIO())
    except CommandError:
        document = json.loads(out.getvalue())
        raise AssertionError([check for check in document["checks"] if not check["ok"]]) from None


def receivables() -> Decimal:
    """What merchants owe the platform (the receivables account's entries; negative: owed to it)."""
    entries = LedgerEntry.objects.filter(wallet_id=SYSTEM_WALLET_IDS[WalletKind.RECEIVABLES])
    return sum((entry.amount for entry in entries), D("0.00"))


def stripe_refunds(order: Order) -> list[int]:
    return sorted(r.amount_minor for r in gateway.refund_list(payment_intent_id=order.payment_intent_id))


def in_background(work):
    """Run `work()` in a thread; return (thread, outcome list: [result] or [exception])."""
    outcome = []

    def run():
        from django.db import connection

        try:
            outcome.append(work())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("merchant_keeps", ["its balance", "nothing"])
def test_a_card_refund_while_stripe_is_frozen_settles_to_what_stripe_did(
    stripe_settings, localstripe_server, short_gateway_timeouts, merchant_keeps
):
    merchant = MerchantFactory()
    fund_wallet(merchant, "100.00")
    order = paid_card_order(merchant=merchant)
    product_units = Product.objects.get(id=order.product_id).available_units

    with localstripe_server.frozen():
        started = time.monotonic()
        refund_call, outcome = in_background(lambda: order_refund(order_id=order.id, actor=merchant))
        # While the refund waits on Stripe it holds no lock: the merchant's wallet and the product move.
        time.sleep(0.3)
        moved = time.monotonic()
        sale = order_purchase(buyer=_funded_buyer(), product_id=order.product_id, quantity=1, method="WALLET")
        # 100.00 funded + 25.00 from the card sale + 25.00 from this one.
        withdrawn = D("150.00") if merchant_keeps == "nothing" else D("50.00")
        wallet_withdraw(user=merchant, amount=withdrawn)
        assert time.monotonic() - moved < 1.0
        refund_call.join(timeout=30)

    [error] = outcome
    assert isinstance(error, gateway.GatewayError) and error.outcome_unknown
    assert time.monotonic() - started < 10
    [refund] = order.refunds.all()
    assert refund.status == RefundStatus.PENDING
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    # Resumed, Stripe makes the refund that was asked of it and timed out here.
    wait_until(lambda: stripe_refunds(order) == [2500], timeout=15)

    settle_and_check()

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert stripe_refunds(order) == [to_minor_units(refund.amount)]
    merchant_wallet = Wallet.objects.get(user=merchant)
    if merchant_keeps == "nothing":
        # Its 25.00 share could not be refused: what its balance lacked is owed, as a receivable.
        assert merchant_wallet.balance == D("0.00")
        assert receivables() == D("-25.00")
    else:
        assert merchant_wallet.balance == D("150.00") - withdrawn - D("25.00")
        assert receivables() == D("0.00")
    assert Product.objects.get(id=order.product_id).available_units == product_units  # one back, one sold
    assert sale.status == OrderStatus.COMPLETED
    assert_reconcile_clean()
    journals = Journal.objects.count()

    # Settling again changes nothing, at Stripe or here.
    settle_and_check()
    assert (stripe_refunds(order), Journal.objects.count()) == ([2500], journals)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_retry_of_the_refund_resumes_it_without_a_second_stripe_refund(
    stripe_settings, localstripe_server, short_gateway_timeouts
):
    merchant = MerchantFactory()
    order = paid_card_order(merchant=merchant)
    with localstripe_server.frozen(), pytest.raises(gateway.GatewayError):
        order_refund(order_id=order.id, actor=merchant)
    wait_until(lambda: stripe_refunds(order) == [2500], timeout=15)

    # The client retries: the PENDING refund is found at Stripe by its id, not asked for again
    # (localstripe ignores idempotency keys, so a second create would be a second refund).
    order = order_refund(order_id=order.id, actor=merchant)

    assert order.status == OrderStatus.REFUNDED
    assert stripe_refunds(order) == [2500]
    assert [r.status for r in order.refunds.all()] == [RefundStatus.SUCCEEDED]
    assert_reconcile_clean()


@pytest.mark.django_db(transaction=True)
def test_the_failed_payment_webhook_commits_before_it_calls_stripe(
    stripe_settings, localstripe_server, short_gateway_timeouts, live_server, celery_worker
):
    buyer = UserFactory()
    product = ProductFactory(price=D("10.00"), available_units=5)
    order = order_purchase(buyer=buyer, product_id=product.id, quantity=2, method=PaymentMethod.GATEWAY)
    intent = {**succeeded_intent(order), "status": "requires_payment_method", "amount_received": 0}
    body, header = signed_event(stripe_settings, event_type="payment_intent.payment_failed", intent=intent)

    with localstripe_server.frozen():
        delivery, answers = in_background(
            lambda: requests.post(
                f"{live_server.url}{API}/payments/stripe/webhook",
                data=body,
                headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                timeout=30,
            )
        )
        # The worker has the order FAILED and its units back before the (stalled) cancel of its intent...
        wait_until(lambda: Order.objects.get(id=order.id).status == OrderStatus.FAILED, timeout=5)
        assert Product.objects.get(id=product.id).available_units == 5
        # ... and the product is not locked during that call.
        moved = time.monotonic()
        sale = order_purchase(buyer=_funded_buyer(), product_id=product.id, quantity=1, method="WALLET")
        assert time.monotonic() - moved < 1.0
        delivery.join(timeout=30)

    [answer] = answers
    assert answer.status_code == 200
    assert sale.status == OrderStatus.COMPLETED
    assert_reconcile_clean()


@pytest.mark.django_db(transaction=True)
def test_a_late_payment_is_given_back_once_stripe_answers_again(
    stripe_settings, localstripe_server, short_gateway_timeouts, api_client
):
    order = order_purchase(buyer=UserFactory(), product_id=ProductFactory().id, quantity=1, method="GATEWAY")
    order_fail(order_id=order.id, reason="declined", source=StatusChangeSource.WEBHOOK)
    # The buyer pays the same intent with another card: a late payment.
    assert confirm_payment_intent(payment_intent_id=order.payment_intent_id) == "succeeded"
    body, header = signed_event(stripe_settings, event_type="payment_intent.succeeded", intent=succeeded_intent(order))

    with localstripe_server.frozen():
        assert post_event(api_client, body, header).status_code == 200

    [refund] = order.refunds.all()
    assert (refund.kind, refund.status) == ("LATE_PAYMENT", RefundStatus.PENDING)
    settle_and_check()

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert stripe_refunds(order) == [to_minor_units(order.total_amount)]
    assert Order.objects.get(id=order.id).status == OrderStatus.FAILED


def _funded_buyer():
    buyer = UserFactory()
    fund_wallet(buyer, "100.00")
    return buyer


# --- a stalled Stripe does not occupy every worker -------------------------------------------


@pytest.fixture
def served(transactional_db, stripe_settings, tmp_path):
    """Serve the test database as production does (gunicorn.conf.py: 2 workers x 8 threads); yield its URL."""
    env = {
        **database_environment(),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "8",
        "GATEWAY_MAX_CONCURRENT_CALLS": "4",
        "STRIPE_SECRET_KEY": stripe_settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.STRIPE_WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_settings.STRIPE_API_BASE,
    }
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as server:
        yield server.url


def test_with_stripe_frozen_and_eight_card_orders_in_flight_the_rest_is_answered_at_once(served, localstripe_server):
    card_buyer, wallet_buyer = UserFactory(), UserFactory()
    fund_wallet(wallet_buyer, "100.00")
    product = ProductFactory(price=D("10.00"), available_units=50)
    body = {"productId": str(product.id), "paymentMethod": "GATEWAY", "quantity": 1}
    card_headers = {"Authorization": f"Bearer {token_pair_for(user=card_buyer).access}"}
    wallet_headers = {"Authorization": f"Bearer {token_pair_for(user=wallet_buyer).access}"}

    with localstripe_server.frozen():
        in_flight = [
            in_background(lambda: requests.post(f"{served}{API}/orders", json=body, headers=card_headers, timeout=60))
            for _ in range(8)
        ]
        # The card orders have reserved their units and wait on Stripe.
        wait_until(lambda: Order.objects.filter(buyer=card_buyer).count() >= 8, timeout=10)

        started = time.monotonic()
        health = requests.get(f"{served}{API}/health", timeout=5)
        health_seconds = time.monotonic() - started
        started = time.monotonic()
        purchase = requests.post(
            f"{served}{API}/orders", json={**body, "paymentMethod": "WALLET"}, headers=wallet_headers, timeout=5
        )
        purchase_seconds = time.monotonic() - started

    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert health_seconds < 2
    assert purchase.status_code == 201, purchase.text
    assert purchase_seconds < 2
    answers = []
    for thread, outcome in in_flight:
        thread.join(timeout=60)
        answers.append(outcome[0].status_code)
    # Each card order is answered: paid once Stripe came back, or refused at once (503: too
    # many waiting on the gateway in its worker), or failed cleanly (502); never left hanging.
    assert set(answers) <= {201, 502, 503}
    refused = Order.objects.filter(buyer=card_buyer).exclude(status=OrderStatus.PENDING)
    assert all(order.status == OrderStatus.FAILED for order in refused)


def test_beyond_its_gateway_slots_a_worker_answers_503_at_once(served, localstripe_server):
    """One worker's slots (4) are taken by calls waiting on Stripe: the next card order is refused, not queued."""
    buyer = UserFactory()
    product = ProductFactory(price=D("10.00"), available_units=50)
    body = {"productId": str(product.id), "paymentMethod": "GATEWAY", "quantity": 1}
    headers = {"Authorization": f"Bearer {token_pair_for(user=buyer).access}"}

    with localstripe_server.frozen():
        in_flight = [
            in_background(lambda: requests.post(f"{served}{API}/orders", json=body, headers=headers, timeout=60))
            for _ in range(12)
        ]
        for thread, _ in in_flight:
            thread.join(timeout=60)

    statuses = [outcome[0].status_code for _, outcome in in_flight]
    assert statuses.count(503) >= 4, statuses
    busy = [outcome[0] for _, outcome in in_flight if outcome[0].status_code == 503]
    assert {answer.json()["code"] for answer in busy} == {"gateway_unavailable"}
