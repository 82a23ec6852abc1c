"""Races the purchase and refund paths claim to survive, run against real PostgreSQL with threads."""

from collections import Counter
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from catalog.tests.factories import ProductFactory
from core.tests.threads import run_together
from orders.models import Order, OrderStatus
from orders.tests.helpers import balance, funded_buyer
from wallets.models import LedgerEntry
from wallets.tests.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=user).access}")
    return client


def race(calls):
    """Run the zero-argument callables as one race; return their results in order."""
    return run_together(len(calls), lambda i: calls[i]())


def purchase_call(client, product, quantity=1):
    def call():
        response = client.post(
            "/api/v1/orders",
            {"productId": str(product.id), "paymentMethod": "WALLET", "quantity": quantity},
            format="json",
        )
        return response.status_code, response.json().get("code")

    return call


def refund_call(client, order_id):
    def call():
        response = client.post(f"/api/v1/orders/{order_id}/refund")
        return response.status_code, response.json().get("code")

    return call


def test_hundred_buyers_ten_units_never_oversell():
    product = ProductFactory(price=Decimal("7.00"), available_units=10)
    buyers = [funded_buyer("50.00") for _ in range(100)]
    clients = [client_for(b) for b in buyers]

    results = race([purchase_call(c, product) for c in clients])

    counts = Counter(results)
    assert counts[(201, None)] == 10, counts
    assert counts[(409, "out_of_stock")] == 90, counts
    product.refresh_from_db()
    assert product.available_units == 0
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == 10
    assert balance(product.merchant) == Decimal("70.00")
    assert sum(balance(b) for b in buyers) == Decimal("4930.00")
    assert_ledger_consistent()


def test_one_buyer_funded_for_three_units_gets_three():
    product = ProductFactory(price=Decimal("10.00"), available_units=100)
    buyer = funded_buyer("35.00")
    client = client_for(buyer)

    results = race([purchase_call(client, product) for _ in range(20)])

    counts = Counter(results)
    assert counts[(201, None)] == 3, counts
    assert counts[(409, "insufficient_funds")] == 17, counts
    assert balance(buyer) == Decimal("5.00")
    product.refresh_from_db()
    assert product.available_units == 97
    assert_ledger_consistent()


def test_purchase_and_price_change_use_one_consistent_price():
    product = ProductFactory(price=Decimal("10.00"), available_units=100)
    merchant_client = client_for(product.merchant)
    buyers = [funded_buyer("100.00") for _ in range(10)]

    def change_price():
        response = merchant_client.patch(f"/api/v1/products/{product.id}", {"price": "20.00"}, format="json")
        return response.status_code, None

    results = race([purchase_call(client_for(b), product) for b in buyers] + [change_price])

    assert all(status in (200, 201) for status, _ in results), results
    for order in Order.objects.all():
        assert order.unit_price in (Decimal("10.00"), Decimal("20.00"))
        debit = LedgerEntry.objects.get(order_id=order.id, type="PURCHASE").amount
        assert debit == -order.unit_price * order.quantity == -order.total_amount
    assert_ledger_consistent()


def test_concurrent_refunds_refund_once():
    product = ProductFactory(price=Decimal("10.00"), available_units=5)
    buyer = funded_buyer("10.00")
    order_id = (
        client_for(buyer)
        .post("/api/v1/orders", {"productId": str(product.id), "paymentMethod": "WALLET"}, format="json")
        .json()["id"]
    )
    merchant_client = client_for(product.merchant)

    results = race([refund_call(merchant_client, order_id) for _ in range(10)])

    counts = Counter(results)
    assert counts[(200, None)] == 1, counts
    assert counts[(409, "invalid_order_state")] == 9, counts
    assert balance(buyer) == Decimal("10.00")
    assert balance(product.merchant) == Decimal("0.00")
    product.refresh_from_db()
    assert product.available_units == 5
    assert LedgerEntry.objects.filter(order_id=order_id, type="REFUND").count() == 1
    assert_ledger_consistent()


def test_interleaved_purchases_and_refunds_do_not_deadlock():
    product = ProductFactory(price=Decimal("5.00"), available_units=1000)
    merchant_client = client_for(product.merchant)
    buyers = [funded_buyer("100.00") for _ in range(12)]
    buyer_clients = [client_for(b) for b in buyers]
    # Completed orders to refund while new purchases of the same product and merchant run.
    to_refund = [
        c.post("/api/v1/orders", {"productId": str(product.id), "paymentMethod": "WALLET"}, format="json").json()["id"]
        for c in buyer_clients
    ]

    calls = []
    for client, order_id in zip(buyer_clients, to_refund, strict=True):
        calls += [purchase_call(client, product), refund_call(merchant_client, order_id)]
    results = race(calls)

    assert all(status in (200, 201) for status, _ in results), Counter(results)
    product.refresh_from_db()
    assert product.available_units == 1000 - 12
    assert Order.objects.filter(status=OrderStatus.REFUNDED).count() == 12
    assert_ledger_consistent()
