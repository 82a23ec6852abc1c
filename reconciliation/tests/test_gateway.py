"""The gateway check (`reconcile --gateway`) against localstripe: card orders Stripe does not back are named."""

import pytest

from core import gateway
from core.money import to_minor_units
from core.tests.localstripe import confirm_payment_intent, stripe_test_client
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.services import order_purchase, order_refund
from orders.services.card import order_complete_card_payment, order_fail
from orders.services.refunds.card import refund_at_gateway
from orders.tests.helpers import card_order_pay
from reconciliation.models import ReconciliationRun
from reconciliation.tests.helpers import check_of, delivery_as_status_implies, failing, reconcile, reconcile_json


@pytest.mark.django_db
class TestGatewayPayments:
    @pytest.fixture
    def card_orders(self, stripe_settings, shop):
        """A completed and a refunded card order, paid in localstripe."""
        product = shop["product"]

        def paid() -> Order:
            order = order_purchase(buyer=shop["buyer"], product_id=product.id, quantity=1, method=PaymentMethod.GATEWAY)
            return card_order_pay(order)

        completed, refunded = paid(), paid()
        order_refund(order_id=refunded.id, actor=shop["merchant"])
        return completed, refunded

    def test_orders_backed_by_stripe_reconcile_clean(self, card_orders, monkeypatch):
        # One order per page: the paging goes past the first page.
        monkeypatch.setattr("reconciliation.checks.gateway.GATEWAY_PAGE_SIZE", 1)

        code, document = reconcile_json("--gateway")

        assert code == 0, failing(document)
        assert document["gateway_checked"] is True
        assert check_of(document, "gateway_payments") == {
            **check_of(document, "gateway_payments"),
            "ok": True,
            "count": 0,
            "entity": "order",
        }
        assert ReconciliationRun.objects.get().gateway_checked is True

    def test_a_payment_intent_of_another_amount(self, card_orders):
        completed, _ = card_orders
        other = stripe_test_client().v1.payment_intents.create(
            {"amount": to_minor_units(completed.total_amount) + 1, "currency": "usd", "payment_method_types": ["card"]}
        )
        confirm_payment_intent(payment_intent_id=other.id)
        Order.objects.filter(id=completed.id).update(payment_intent_id=other.id)

        code, document = reconcile_json("--gateway")

        assert code == 1
        assert failing(document) == {"gateway_payments": [str(completed.id)]}
        assert check_of(document, "gateway_payments")["detail"] == "amount or currency differs: 1"

    def test_a_refunded_order_whose_payment_was_not_refunded(self, card_orders):
        completed, _ = card_orders
        Order.objects.filter(id=completed.id).update(status=OrderStatus.REFUNDED)
        completed.refresh_from_db()
        delivery_as_status_implies(completed)

        _, document = reconcile_json("--gateway")

        # Nothing was refunded here or at Stripe: the books name the order (REFUNDED with no
        # refund) and its product (REFUNDED holds no units, yet the unit is not back).
        assert failing(document) == {
            "order_journals": [str(completed.id)],
            "product_stock": [str(completed.product_id)],
        }

    def test_refunds_here_and_at_stripe_that_differ(self, card_orders):
        completed, refunded = card_orders
        # Swap the two orders' intents: each now meets the other's refunds at Stripe.
        Order.objects.filter(id=completed.id).update(payment_intent_id="pi_swap")
        Order.objects.filter(id=refunded.id).update(payment_intent_id=completed.payment_intent_id)
        Order.objects.filter(id=completed.id).update(payment_intent_id=refunded.payment_intent_id)

        _, document = reconcile_json("--gateway")

        assert sorted(failing(document)["gateway_payments"]) == sorted([str(completed.id), str(refunded.id)])
        assert check_of(document, "gateway_payments")["detail"] == (
            "refunds in Stripe differ from the succeeded refunds here: 2"
        )

    def test_a_payment_intent_that_never_succeeded_or_does_not_exist(self, card_orders, shop):
        completed, refunded = card_orders
        unpaid = order_purchase(
            buyer=shop["buyer"], product_id=shop["product"].id, quantity=1, method=PaymentMethod.GATEWAY
        )
        Order.objects.filter(id=unpaid.id).update(payment_intent_id=None)
        Order.objects.filter(id=completed.id).update(payment_intent_id=unpaid.payment_intent_id)
        Order.objects.filter(id=refunded.id).update(payment_intent_id="pi_missing0000000000000000")

        _, document = reconcile_json("--gateway")

        gateway = check_of(document, "gateway_payments")
        assert sorted(gateway["examples"]) == sorted([str(completed.id), str(refunded.id)])
        assert gateway["detail"] == "PaymentIntent not found: 1; PaymentIntent requires_payment_method: 1"

    def test_a_completed_order_refunded_in_stripe_only(self, card_orders):
        completed, _ = card_orders
        gateway.refund_create(payment_intent_id=completed.payment_intent_id, idempotency_key="outside-the-app")

        _, document = reconcile_json("--gateway")

        assert failing(document) == {"gateway_payments": [str(completed.id)]}
        assert check_of(document, "gateway_payments")["detail"] == (
            "refunds in Stripe differ from the succeeded refunds here: 1"
        )

    def test_a_failed_order_whose_payment_succeeded_and_was_kept(self, card_orders, shop):
        late = order_purchase(
            buyer=shop["buyer"], product_id=shop["product"].id, quantity=1, method=PaymentMethod.GATEWAY
        )
        order_fail(order_id=late.id, reason="declined", source=StatusChangeSource.WEBHOOK)
        confirm_payment_intent(payment_intent_id=late.payment_intent_id)

        _, document = reconcile_json("--gateway")

        assert failing(document) == {"gateway_payments": [str(late.id)]}
        assert check_of(document, "gateway_payments")["detail"] == "paid in Stripe but failed here, not refunded: 1"
        # What the webhook of that payment does: record the return of the late payment, then send it.
        outcome = order_complete_card_payment(
            order_id=late.id,
            payment_intent_id=late.payment_intent_id,
            amount_minor=to_minor_units(late.total_amount),
            currency=late.currency,
        )
        refund_at_gateway(refund_id=outcome.late_refund.id)
        assert reconcile_json("--gateway")[0] == 0

    def test_stripe_unreachable_is_exit_2(self, card_orders, settings):
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"

        code, _, err = reconcile("--gateway", "-v", "0")

        assert code == 2
        assert "could not complete" in err
        assert not ReconciliationRun.objects.exists()
