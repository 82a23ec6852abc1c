"""Operators' orders and webhook inbox: read-only, refunds and reprocessing through the services."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.factories import UserFactory
from backoffice.tests.factories import refund_action
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import (
    Order,
    OrderStatus,
    OrderStatusChange,
    PaymentMethod,
    StatusChangeSource,
    WebhookEvent,
    WebhookOutcome,
)
from orders.services import order_purchase
from orders.tests.helpers import balance, funded_buyer
from paymentflow.tests.celery_worker import wait_for
from wallets.tests.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
INBOX = "/admin/orders/webhookevent/"


def sale(product, quantity: int = 1) -> Order:
    return order_purchase(buyer=funded_buyer(), product_id=product.id, quantity=quantity, method=PaymentMethod.WALLET)


@pytest.fixture
def order():
    return sale(ProductFactory(price=Decimal("20.00"), available_units=5), quantity=2)


def test_orders_are_searchable_by_buyer_email_and_filterable(operator_client, order):
    other = sale(ProductFactory())

    by_email = operator_client.get(ORDERS, {"q": order.buyer.email})
    by_status = operator_client.get(ORDERS, {"status__exact": "COMPLETED", "payment_method__exact": "WALLET"})

    assert list(by_email.context["cl"].result_list) == [order]
    assert set(by_status.context["cl"].result_list) == {order, other}


def test_an_order_page_shows_its_history_and_links_to_its_ledger(operator_client, order):
    response = operator_client.get(f"{ORDERS}{order.id}/change/")

    assert response.status_code == 200
    assert b"Paid from wallet" in response.content
    assert f"/admin/wallets/journal/?q={order.id}".encode() in response.content
    assert b"payment_client_secret" not in response.content


def test_orders_are_view_only_and_never_deleted(operator_client, order):
    assert operator_client.get(f"{ORDERS}add/").status_code == 403
    assert operator_client.post(f"{ORDERS}{order.id}/change/", {"status": "REFUNDED"}).status_code == 403
    assert operator_client.post(f"{ORDERS}{order.id}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in operator_client.get(ORDERS).content
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert OrderStatusChange.objects.filter(order=order).count() == 1


def test_the_refund_action_refunds_through_order_refund(operator_client, staff, order):
    buyer_before = balance(order.buyer)

    response = refund_action(operator_client, ORDERS, "refund_orders", order)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert balance(order.buyer) == buyer_before + Decimal("40.00")
    assert balance(order.merchant) == Decimal("0.00")
    assert Product.objects.get(id=order.product_id).available_units == 5
    step = OrderStatusChange.objects.filter(order=order).last()
    assert (step.source, step.actor) == (StatusChangeSource.ADMIN, staff)
    assert_ledger_consistent()


def test_the_refund_action_first_asks_for_an_amount_and_a_reason(operator_client, order):
    response = operator_client.post(ORDERS, {"action": "refund_orders", "_selected_action": [str(order.id)]})

    assert response.status_code == 200
    assert "backoffice/refund_form.html" in [template.name for template in response.templates]
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert not order.refunds.exists()


def test_a_partial_refund_from_the_admin(operator_client, order):
    buyer_before = balance(order.buyer)

    refund_action(operator_client, ORDERS, "refund_orders", order, amount="15.00", reason="One unit was faulty")

    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert balance(order.buyer) == buyer_before + Decimal("15.00")
    assert Product.objects.get(id=order.product_id).available_units == 3
    refund = order.refunds.get()
    assert (refund.amount, refund.reason, refund.source) == (Decimal("15.00"), "One unit was faulty", "ADMIN")
    assert b"One unit was faulty" in operator_client.get(f"{ORDERS}{order.id}/change/").content
    assert_ledger_consistent()


@pytest.mark.parametrize("amount", ["0", "-1", "abc", "1.005"])
def test_a_bad_amount_shows_the_form_again_and_refunds_nothing(operator_client, order, amount):
    response = refund_action(operator_client, ORDERS, "refund_orders", order, amount=amount)

    assert response.context["form"].errors["amount"]
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert not order.refunds.exists()


def test_more_than_is_left_is_an_error_message_and_refunds_nothing(operator_client, order):
    buyer_before = balance(order.buyer)

    response = refund_action(operator_client, ORDERS, "refund_orders", order, amount="40.01")

    assert [message.level_tag for message in response.context["messages"]] == ["error"]
    assert balance(order.buyer) == buyer_before
    assert not order.refunds.exists()


def test_a_refund_refused_by_the_service_is_an_error_message(operator_client, order):
    refund_action(operator_client, ORDERS, "refund_orders", order)

    response = refund_action(operator_client, ORDERS, "refund_orders", order)

    assert response.status_code == 200
    assert [message.level_tag for message in response.context["messages"]] == ["error"]
    assert OrderStatusChange.objects.filter(order=order, to_status=OrderStatus.REFUNDED).count() == 1


@pytest.mark.parametrize("codenames", [["view_order"], ["view_order", "change_order"]], ids=["view", "view-and-change"])
def test_staff_without_the_refund_permission_get_no_refund_action(order, codenames):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(viewer)

    listing = client.get(ORDERS)
    refund_action(client, ORDERS, "refund_orders", order, follow=False)

    assert listing.status_code == 200
    assert b"refund_orders" not in listing.content
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED


def test_an_operator_holding_the_refund_permission_refunds_from_the_admin(order):
    refunder = UserFactory(is_staff=True)
    refunder.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "refund_order"]))
    client = Client()
    client.force_login(refunder)

    assert b"refund_orders" in client.get(ORDERS).content
    refund_action(client, ORDERS, "refund_orders", order)

    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED


# --- webhook inbox ------------------------------------------------------------------


def event(event_id: str, *, type: str = "payment_intent.succeeded", outcome: str = WebhookOutcome.RECEIVED, **fields):
    payload = {"id": event_id, "type": type, "data": {"object": {"id": f"pi_{event_id}", "metadata": {}}}}
    return WebhookEvent.objects.create(event_id=event_id, type=type, payload=payload, outcome=outcome, **fields)


def test_the_inbox_filters_by_outcome_and_type(operator_client):
    failed = event("evt_failed", outcome=WebhookOutcome.FAILED, detail="No order for PaymentIntent pi_x.")
    event("evt_ok", outcome=WebhookOutcome.PROCESSED)
    other_type = event("evt_other", type="customer.created", outcome=WebhookOutcome.IGNORED)

    by_outcome = operator_client.get(INBOX, {"outcome__exact": "FAILED"})
    by_type = operator_client.get(INBOX, {"type": "customer.created"})
    by_search = operator_client.get(INBOX, {"q": "evt_fail"})

    assert list(by_outcome.context["cl"].result_list) == [failed]
    assert list(by_type.context["cl"].result_list) == [other_type]
    assert list(by_search.context["cl"].result_list) == [failed]
    assert operator_client.get(f"{INBOX}{failed.pk}/change/").status_code == 200


def test_the_inbox_is_read_only(operator_client):
    stored = event("evt_1", outcome=WebhookOutcome.FAILED)

    assert operator_client.get(f"{INBOX}add/").status_code == 403
    assert operator_client.post(f"{INBOX}{stored.pk}/change/", {"outcome": "PROCESSED"}).status_code == 403
    assert operator_client.post(f"{INBOX}{stored.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.FAILED


@pytest.mark.django_db(transaction=True)
def test_reprocess_queues_failed_events_for_the_worker_and_skips_processed_ones(operator_client, celery_worker):
    unhandled = event("evt_unhandled", type="customer.created", outcome=WebhookOutcome.FAILED, attempts=1)
    still_failing = event("evt_orphan", type="payment_intent.payment_failed", outcome=WebhookOutcome.FAILED, attempts=1)
    done = event("evt_done", outcome=WebhookOutcome.PROCESSED, attempts=1)

    response = operator_client.post(
        INBOX,
        {"action": "reprocess", "_selected_action": [str(unhandled.pk), str(still_failing.pk), str(done.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    levels = sorted(message.level_tag for message in response.context["messages"])
    assert levels == ["info", "success"]
    wait_for(lambda: WebhookEvent.objects.get(pk=unhandled.pk).outcome == WebhookOutcome.IGNORED)
    wait_for(lambda: WebhookEvent.objects.get(pk=still_failing.pk).attempts == 2)
    still_failing.refresh_from_db()
    done.refresh_from_db()
    assert WebhookEvent.objects.get(pk=unhandled.pk).attempts == 2
    assert still_failing.outcome == WebhookOutcome.FAILED
    assert (done.outcome, done.attempts) == (WebhookOutcome.PROCESSED, 1)


def test_dismiss_marks_failed_events_ignored_and_names_the_operator(operator_client, staff):
    failed = event("evt_failed", outcome=WebhookOutcome.FAILED, detail="Payment does not match")
    processed = event("evt_done", outcome=WebhookOutcome.PROCESSED)

    operator_client.post(
        INBOX, {"action": "dismiss", "_selected_action": [str(failed.pk), str(processed.pk)]}, follow=True
    )

    failed.refresh_from_db()
    processed.refresh_from_db()
    assert failed.outcome == WebhookOutcome.IGNORED
    assert failed.detail == f"Payment does not match (dismissed by {staff})"
    assert processed.outcome == WebhookOutcome.PROCESSED
