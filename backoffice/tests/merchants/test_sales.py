"""/merchant/ sales: only the merchant's own, read-only, refunded through order_refund."""

from decimal import Decimal

import pytest

from backoffice.tests.factories import refund_action, sale
from backoffice.tests.merchants.helpers import SALES, results
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus, OrderStatusChange, StatusChangeSource
from wallets.models import EntryType, LedgerEntry
from wallets.services import wallet_withdraw
from wallets.tests.factories import wallet_of

pytestmark = pytest.mark.django_db


def test_a_merchant_sees_only_its_own_sales(merchant, merchant_client, rival):
    mine = sale(ProductFactory(merchant=merchant))

    response = merchant_client.get(SALES)

    assert results(response) == [mine]
    assert results(merchant_client.get(SALES, {"q": str(Order.objects.get(merchant=rival).id)})) == []
    assert merchant_client.get(f"{SALES}{mine.id}/change/").status_code == 200


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_another_merchants_sale_is_a_404_by_url(merchant_client, rival, suffix):
    theirs = Order.objects.get(merchant=rival)

    assert merchant_client.get(f"{SALES}{theirs.id}/{suffix}").status_code == 404


def test_sales_are_read_only(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant))

    assert merchant_client.get(f"{SALES}add/").status_code == 403
    assert merchant_client.post(f"{SALES}{order.id}/change/", {"status": "REFUNDED"}).status_code == 403
    assert merchant_client.post(f"{SALES}{order.id}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in merchant_client.get(SALES).content
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED


def test_the_sale_page_shows_its_status_history(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant))

    response = merchant_client.get(f"{SALES}{order.id}/change/")

    assert b"Paid from wallet" in response.content


def test_the_refund_action_refunds_through_order_refund(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, price=Decimal("25.00"), available_units=5)
    order = sale(product, quantity=2)
    buyer_balance = wallet_of(order.buyer).balance

    response = refund_action(merchant_client, SALES, "refund_sales", order)

    assert response.status_code == 200
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert wallet_of(merchant).balance == Decimal("0.00")
    assert wallet_of(order.buyer).balance == buyer_balance + Decimal("50.00")
    assert product.available_units == 5
    step = OrderStatusChange.objects.filter(order=order).last()
    assert (step.to_status, step.source, step.actor) == (OrderStatus.REFUNDED, StatusChangeSource.ADMIN, merchant)
    assert LedgerEntry.objects.filter(order_id=order.id, type=EntryType.SALE_REVERSAL).count() == 1


def test_the_refund_action_cannot_reach_another_merchants_sale(merchant_client, rival):
    theirs = Order.objects.get(merchant=rival)

    refund_action(merchant_client, SALES, "refund_sales", theirs, follow=False)

    assert Order.objects.get(id=theirs.id).status == OrderStatus.COMPLETED
    assert wallet_of(rival).balance == Decimal("10.00")


def test_a_refund_the_wallet_cannot_cover_is_an_error_message_and_changes_nothing(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant, price=Decimal("30.00")))
    wallet_withdraw(user=merchant, amount=Decimal("20.00"))

    response = refund_action(merchant_client, SALES, "refund_sales", order)

    assert response.status_code == 200
    assert any(message.level_tag == "error" for message in response.context["messages"])
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert wallet_of(merchant).balance == Decimal("10.00")


def test_an_already_refunded_sale_is_skipped_with_a_warning(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant))
    refund_action(merchant_client, SALES, "refund_sales", order)

    response = refund_action(merchant_client, SALES, "refund_sales", order)

    assert [message.level_tag for message in response.context["messages"]] == ["warning"]
    assert LedgerEntry.objects.filter(order_id=order.id, type=EntryType.REFUND).count() == 1
