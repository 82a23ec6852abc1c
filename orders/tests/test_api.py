"""POST /orders, GET /orders…, POST /orders/{id}/refund against the contract in docs/api.md."""

import threading
import time
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders import locks
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services import purchase
from orders.tests.helpers import balance, entries_for_order, funded_buyer, platform_revenue
from wallets.models import LedgerEntry, Wallet
from wallets.services import wallet_withdraw
from wallets.tests.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def buy(client, product, *, quantity=1, method="WALLET", **headers):
    body = {"productId": str(product.id), "paymentMethod": method, "quantity": quantity}
    return client.post(ORDERS, body, format="json", **headers)


def snapshot(*users, product):
    product.refresh_from_db()
    return (
        tuple(balance(u) for u in users),
        product.available_units,
        Order.objects.count(),
        LedgerEntry.objects.count(),
    )


class TestWalletPurchase:
    def test_completes_and_moves_money_stock_and_ledger(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("12.50"), available_units=5)
        merchant = product.merchant

        response = buy(auth_client(buyer), product, quantity=2)

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["status"] == "COMPLETED"
        assert body["unitPrice"] == "12.50"
        assert body["totalAmount"] == "25.00"
        assert body["quantity"] == 2
        assert body["currency"] == "USD"
        assert body["paymentMethod"] == "WALLET"
        assert body["productId"] == str(product.id)
        assert body["productName"] == product.name
        assert body["buyerId"] == str(buyer.id)
        assert body["merchantId"] == str(merchant.id)
        assert body["payment"] is None
        assert set(body) == {
            "id", "productId", "productName", "quantity", "unitPrice", "totalAmount", "currency", "status",
            "paymentMethod", "buyerId", "merchantId", "createdAt", "updatedAt", "payment", "refundedAmount", "refunds",
        }  # fmt: skip
        assert balance(buyer) == Decimal("75.00")
        assert balance(merchant) == Decimal("25.00")
        product.refresh_from_db()
        assert product.available_units == 3
        assert entries_for_order(body["id"]) == {"PURCHASE": Decimal("-25.00"), "SALE": Decimal("25.00")}
        history = list(OrderStatusChange.objects.filter(order_id=body["id"]).values_list("from_status", "to_status"))
        assert history == [("", "COMPLETED")]
        assert_ledger_consistent()

    def test_default_quantity_is_one(self, auth_client):
        buyer = funded_buyer("10.00")
        product = ProductFactory(price=Decimal("3.00"), available_units=1)
        body = (
            auth_client(buyer)
            .post(ORDERS, {"productId": str(product.id), "paymentMethod": "WALLET"}, format="json")
            .json()
        )
        assert body["quantity"] == 1
        assert body["totalAmount"] == "3.00"

    def test_platform_fee_cents_add_up(self, auth_client, settings):
        settings.PLATFORM_FEE_PERCENT = Decimal("2.5")
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("19.99"), available_units=10)

        body = buy(auth_client(buyer), product, quantity=3).json()

        # 59.97 * 2.5% = 1.49925 → 1.50 (half-up); the merchant gets the remainder.
        assert body["totalAmount"] == "59.97"
        assert balance(buyer) == Decimal("40.03")
        assert balance(product.merchant) == Decimal("58.47")
        assert platform_revenue() == Decimal("1.50")
        assert entries_for_order(body["id"]) == {
            "PURCHASE": Decimal("-59.97"),
            "SALE": Decimal("58.47"),
            "FEE": Decimal("1.50"),
        }
        assert_ledger_consistent()

    def test_price_change_later_does_not_change_the_order(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("10.00"), available_units=5)
        order_id = buy(auth_client(buyer), product).json()["id"]
        Product.objects.filter(id=product.id).update(price=Decimal("99.00"))
        body = auth_client(buyer).get(f"{ORDERS}/{order_id}").json()
        assert body["unitPrice"] == "10.00"

    def test_unknown_body_keys_are_ignored(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("10.00"), available_units=5)
        response = auth_client(buyer).post(
            ORDERS,
            {
                "productId": str(product.id),
                "paymentMethod": "WALLET",
                "status": "REFUNDED",
                "unitPrice": "0.01",
                "totalAmount": "0.01",
                "buyerId": str(uuid4()),
                "merchantId": str(buyer.id),
            },
            format="json",
        )
        body = response.json()
        assert response.status_code == 201
        assert (body["status"], body["totalAmount"], body["buyerId"]) == ("COMPLETED", "10.00", str(buyer.id))
        assert balance(buyer) == Decimal("90.00")

    def test_product_cache_sees_the_sold_units(self, auth_client, api_client, django_capture_on_commit_callbacks):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("10.00"), available_units=5)
        assert api_client.get(f"/api/v1/products/{product.id}").json()["availableUnits"] == 5

        # The invalidation runs after COMMIT; the test transaction never commits, so run it here.
        with django_capture_on_commit_callbacks(execute=True):
            buy(auth_client(buyer), product, quantity=2)

        assert api_client.get(f"/api/v1/products/{product.id}").json()["availableUnits"] == 3


def test_a_new_order_is_answered_without_reading_refunds(auth_client):
    buyer = funded_buyer("10.00")
    product = ProductFactory(price=Decimal("1.00"), available_units=2)
    with CaptureQueriesContext(connection) as captured:
        response = buy(auth_client(buyer), product)

    assert (response.status_code, response.json()["refunds"], response.json()["refundedAmount"]) == (201, [], "0.00")
    assert not [query for query in captured if "orders_refund" in query["sql"]]


class TestPurchaseErrors:
    def assert_nothing_changed(self, before, buyer, merchant, product):
        assert snapshot(buyer, merchant, product=product) == before

    def test_insufficient_funds(self, auth_client):
        buyer = funded_buyer("20.00")
        product = ProductFactory(price=Decimal("50.00"), available_units=5)
        before = snapshot(buyer, product.merchant, product=product)
        response = buy(auth_client(buyer), product)
        assert response.status_code == 409
        assert response.json()["code"] == "insufficient_funds"
        assert response.json()["detail"] == "Wallet balance 20.00 is less than 50.00."
        assert response["Content-Type"] == "application/problem+json"
        self.assert_nothing_changed(before, buyer, product.merchant, product)

    def test_out_of_stock(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        before = snapshot(buyer, product.merchant, product=product)
        response = buy(auth_client(buyer), product, quantity=3)
        assert response.status_code == 409
        assert response.json()["code"] == "out_of_stock"
        assert response.json()["detail"] == "Only 2 units available, 3 requested."
        self.assert_nothing_changed(before, buyer, product.merchant, product)

    def test_inactive_product_is_unavailable(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=2, is_active=False)
        before = snapshot(buyer, product.merchant, product=product)
        response = buy(auth_client(buyer), product)
        assert response.status_code == 409
        assert response.json()["code"] == "product_unavailable"
        self.assert_nothing_changed(before, buyer, product.merchant, product)

    def test_missing_product_is_404(self, auth_client):
        buyer = funded_buyer("100.00")
        response = auth_client(buyer).post(
            ORDERS, {"productId": str(uuid4()), "paymentMethod": "WALLET"}, format="json"
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert Order.objects.count() == 0

    def test_deleted_product_is_404(self, auth_client):
        from django.utils import timezone

        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        Product.objects.filter(id=product.id).update(deleted_at=timezone.now())
        response = buy(auth_client(buyer), product)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert Order.objects.count() == 0

    def test_merchant_cannot_buy_own_product(self, auth_client):
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        merchant = product.merchant
        from wallets.services import wallet_deposit

        wallet_deposit(user=merchant, amount=Decimal("10.00"))
        before = snapshot(merchant, product=product)
        response = buy(auth_client(merchant), product)
        assert response.status_code == 400
        assert response.json()["code"] == "cannot_buy_own_product"
        assert snapshot(merchant, product=product) == before

    def test_merchant_can_buy_another_merchants_product(self, auth_client):
        other = MerchantFactory()
        from wallets.services import wallet_deposit

        wallet_deposit(user=other, amount=Decimal("10.00"))
        product = ProductFactory(price=Decimal("4.00"), available_units=2)
        assert buy(auth_client(other), product).status_code == 201

    def test_frozen_buyer_wallet(self, auth_client):
        buyer = funded_buyer("100.00")
        Wallet.objects.filter(user=buyer).update(is_frozen=True)
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        before = snapshot(buyer, product.merchant, product=product)
        response = buy(auth_client(buyer), product)
        assert response.status_code == 409
        assert response.json()["code"] == "wallet_frozen"
        self.assert_nothing_changed(before, buyer, product.merchant, product)

    def test_frozen_merchant_wallet(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        Wallet.objects.filter(user=product.merchant).update(is_frozen=True)
        before = snapshot(buyer, product.merchant, product=product)
        response = buy(auth_client(buyer), product)
        assert (response.status_code, response.json()["code"]) == (409, "wallet_frozen")
        self.assert_nothing_changed(before, buyer, product.merchant, product)

    @pytest.mark.parametrize("quantity", [0, 101, -1, "x", 1.5, None])
    def test_bad_quantity(self, auth_client, quantity):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=200)
        response = buy(auth_client(buyer), product, quantity=quantity)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "validation_error"
        assert "quantity" in body["errors"]
        assert Order.objects.count() == 0

    @pytest.mark.parametrize("method", ["CASH", "", "wallet", None])
    def test_bad_payment_method(self, auth_client, method):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("1.00"), available_units=2)
        response = buy(auth_client(buyer), product, method=method)
        assert response.status_code == 400
        assert "paymentMethod" in response.json()["errors"]

    def test_bad_product_id(self, auth_client):
        buyer = funded_buyer("100.00")
        response = auth_client(buyer).post(ORDERS, {"productId": "nope", "paymentMethod": "WALLET"}, format="json")
        assert response.status_code == 400
        assert "productId" in response.json()["errors"]

    def test_requires_authentication(self, api_client):
        product = ProductFactory()
        response = buy(api_client, product)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


class TestIdempotentPurchase:
    def test_replay_returns_the_same_order_once(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("10.00"), available_units=5)
        client = auth_client(buyer)

        first = buy(client, product, HTTP_IDEMPOTENCY_KEY="order-1")
        second = buy(client, product, HTTP_IDEMPOTENCY_KEY="order-1")

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert Order.objects.count() == 1
        assert balance(buyer) == Decimal("90.00")

    def test_same_key_other_body_is_422(self, auth_client):
        buyer = funded_buyer("100.00")
        product = ProductFactory(price=Decimal("10.00"), available_units=5)
        client = auth_client(buyer)
        buy(client, product, HTTP_IDEMPOTENCY_KEY="order-1")
        response = buy(client, product, quantity=2, HTTP_IDEMPOTENCY_KEY="order-1")
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"
        assert Order.objects.count() == 1


class TestOrderReads:
    def test_buyer_lists_own_purchases_only(self, auth_client):
        buyer, other = funded_buyer(), funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        mine = [buy(auth_client(buyer), product).json()["id"] for _ in range(2)]
        buy(auth_client(other), product)

        body = auth_client(buyer).get(ORDERS).json()

        assert body["count"] == 2
        assert [o["id"] for o in body["results"]] == list(reversed(mine))  # newest first
        assert set(body) == {"count", "next", "previous", "results"}

    def test_status_filter_and_bad_status(self, auth_client):
        buyer = funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        buy(auth_client(buyer), product)
        client = auth_client(buyer)
        assert client.get(ORDERS, {"status": "COMPLETED"}).json()["count"] == 1
        assert client.get(ORDERS, {"status": "REFUNDED"}).json()["count"] == 0
        response = client.get(ORDERS, {"status": "BOGUS"})
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"

    def test_pagination(self, auth_client):
        buyer = funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        for _ in range(3):
            buy(auth_client(buyer), product)
        client = auth_client(buyer)
        page = client.get(ORDERS, {"limit": 2, "page": 2}).json()
        assert page["count"] == 3
        assert len(page["results"]) == 1
        assert client.get(ORDERS, {"limit": 2, "page": 3}).status_code == 404

    def test_merchant_sales(self, auth_client):
        buyer = funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        other_product = ProductFactory(price=Decimal("1.00"), available_units=10)
        sold = buy(auth_client(buyer), product).json()["id"]
        buy(auth_client(buyer), other_product)

        body = auth_client(product.merchant).get(f"{ORDERS}/merchant/sales").json()

        assert [o["id"] for o in body["results"]] == [sold]

    def test_user_has_no_sales(self, auth_client, user):
        response = auth_client(user).get(f"{ORDERS}/merchant/sales")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

    def test_detail_for_buyer_and_merchant_404_for_others(self, auth_client):
        buyer = funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        order_id = buy(auth_client(buyer), product).json()["id"]

        assert auth_client(buyer).get(f"{ORDERS}/{order_id}").status_code == 200
        assert auth_client(product.merchant).get(f"{ORDERS}/{order_id}").status_code == 200
        stranger = auth_client(UserFactory()).get(f"{ORDERS}/{order_id}")
        assert stranger.status_code == 404
        assert stranger.json()["code"] == "not_found"
        assert auth_client(MerchantFactory()).get(f"{ORDERS}/{order_id}").status_code == 404
        assert auth_client(buyer).get(f"{ORDERS}/{uuid4()}").status_code == 404
        assert auth_client(buyer).get(f"{ORDERS}/not-a-uuid").status_code == 404

    def test_stranger_never_sees_orders_in_lists(self, auth_client):
        buyer = funded_buyer()
        product = ProductFactory(price=Decimal("1.00"), available_units=10)
        buy(auth_client(buyer), product)
        stranger = MerchantFactory()
        assert auth_client(stranger).get(ORDERS).json()["count"] == 0
        assert auth_client(stranger).get(f"{ORDERS}/merchant/sales").json()["count"] == 0


class TestRefund:
    def purchase(self, auth_client, *, price="10.00", quantity=2, funds="100.00"):
        buyer = funded_buyer(funds)
        product = ProductFactory(price=Decimal(price), available_units=10)
        order_id = buy(auth_client(buyer), product, quantity=quantity).json()["id"]
        return buyer, product, order_id

    def test_merchant_refunds_in_full(self, auth_client, settings):
        settings.PLATFORM_FEE_PERCENT = Decimal("2.5")
        buyer, product, order_id = self.purchase(auth_client, price="19.99", quantity=3)

        response = auth_client(product.merchant).post(f"{ORDERS}/{order_id}/refund")

        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "REFUNDED"
        assert balance(buyer) == Decimal("100.00")
        assert balance(product.merchant) == Decimal("0.00")
        assert platform_revenue() == Decimal("0.00")
        product.refresh_from_db()
        assert product.available_units == 10
        assert entries_for_order(order_id) == {
            "PURCHASE": Decimal("-59.97"),
            "SALE": Decimal("58.47"),
            "FEE": Decimal("1.50"),
            "REFUND": Decimal("59.97"),
            "SALE_REVERSAL": Decimal("-58.47"),
            "FEE_REVERSAL": Decimal("-1.50"),
        }
        history = list(OrderStatusChange.objects.filter(order_id=order_id).values_list("from_status", "to_status"))
        assert history == [("", "COMPLETED"), ("COMPLETED", "REFUNDED")]
        assert_ledger_consistent()

    def test_an_operator_with_the_refund_permission_can_refund(self, auth_client):
        buyer, _product, order_id = self.purchase(auth_client)
        operator = UserFactory(is_staff=True)
        operator.user_permissions.add(Permission.objects.get(codename="refund_order"))
        assert auth_client(operator).post(f"{ORDERS}/{order_id}/refund").status_code == 200
        assert balance(buyer) == Decimal("100.00")

    def test_a_superuser_operator_can_refund(self, auth_client):
        buyer, _product, order_id = self.purchase(auth_client)
        operator = UserFactory(is_staff=True, is_superuser=True)
        assert auth_client(operator).post(f"{ORDERS}/{order_id}/refund").status_code == 200
        assert balance(buyer) == Decimal("100.00")

    @pytest.mark.parametrize(
        "who",
        [
            pytest.param({"is_staff": True}, id="staff-without-the-permission"),
            pytest.param({"is_staff": True, "is_superuser": True, "role": "MERCHANT"}, id="merchant-ticked-staff"),
            pytest.param({"is_staff": False, "is_superuser": True}, id="superuser-not-staff"),
        ],
    )
    def test_no_one_else_refunds_another_merchants_sale(self, auth_client, who):
        buyer, product, order_id = self.purchase(auth_client)
        refunder = UserFactory(**who)

        response = auth_client(refunder).post(f"{ORDERS}/{order_id}/refund")

        assert (response.status_code, response.json()["code"]) == (404, "not_found")
        order = Order.objects.get(id=order_id)
        assert order.status == OrderStatus.COMPLETED
        assert (balance(buyer), balance(product.merchant)) == (Decimal("80.00"), Decimal("20.00"))

    def test_buyer_cannot_refund(self, auth_client):
        buyer, _product, order_id = self.purchase(auth_client)
        response = auth_client(buyer).post(f"{ORDERS}/{order_id}/refund")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert Order.objects.get(id=order_id).status == OrderStatus.COMPLETED

    def test_stranger_gets_404(self, auth_client):
        _buyer, _product, order_id = self.purchase(auth_client)
        response = auth_client(MerchantFactory()).post(f"{ORDERS}/{order_id}/refund")
        assert response.status_code == 404
        assert Order.objects.get(id=order_id).status == OrderStatus.COMPLETED

    def test_twice_is_invalid_order_state(self, auth_client):
        buyer, product, order_id = self.purchase(auth_client)
        client = auth_client(product.merchant)
        client.post(f"{ORDERS}/{order_id}/refund")
        before = snapshot(buyer, product.merchant, product=product)
        response = client.post(f"{ORDERS}/{order_id}/refund")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_order_state"
        assert snapshot(buyer, product.merchant, product=product) == before

    def test_merchant_without_funds_cannot_refund(self, auth_client):
        buyer, product, order_id = self.purchase(auth_client)
        wallet_withdraw(user=product.merchant, amount=Decimal("15.00"))
        before = snapshot(buyer, product.merchant, product=product)

        response = auth_client(product.merchant).post(f"{ORDERS}/{order_id}/refund")

        assert response.status_code == 409
        assert response.json()["code"] == "insufficient_funds"
        assert snapshot(buyer, product.merchant, product=product) == before
        assert Order.objects.get(id=order_id).status == OrderStatus.COMPLETED

    def test_idempotent_refund_replays(self, auth_client):
        buyer, product, order_id = self.purchase(auth_client)
        client = auth_client(product.merchant)
        first = client.post(f"{ORDERS}/{order_id}/refund", HTTP_IDEMPOTENCY_KEY="refund-1")
        second = client.post(f"{ORDERS}/{order_id}/refund", HTTP_IDEMPOTENCY_KEY="refund-1")
        assert first.status_code == second.status_code == 200
        assert second["Idempotent-Replayed"] == "true"
        assert balance(buyer) == Decimal("100.00")
        assert LedgerEntry.objects.filter(order_id=order_id, type="REFUND").count() == 1


def test_refund_returns_units_to_a_deleted_product(auth_client):
    from django.utils import timezone

    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)
    order_id = buy(auth_client(buyer), product, quantity=2).json()["id"]
    Product.objects.filter(id=product.id).update(deleted_at=timezone.now())

    response = auth_client(product.merchant).post(f"{ORDERS}/{order_id}/refund")

    assert response.status_code == 200
    product.refresh_from_db()
    assert product.available_units == 5
    assert balance(buyer) == Decimal("100.00")


def test_fee_that_takes_a_whole_cent_total_leaves_no_zero_merchant_leg(auth_client, settings):
    settings.PLATFORM_FEE_PERCENT = Decimal("50")
    buyer = funded_buyer("1.00")
    product = ProductFactory(price=Decimal("0.01"), available_units=5)

    response = buy(auth_client(buyer), product)

    # 0.01 * 50% = 0.005 -> 0.01 (half-up): the platform keeps the cent, the merchant gets nothing.
    assert response.status_code == 201, response.json()
    assert entries_for_order(response.json()["id"]) == {"PURCHASE": Decimal("-0.01"), "FEE": Decimal("0.01")}
    assert balance(product.merchant) == Decimal("0.00")
    refund = auth_client(product.merchant).post(f"{ORDERS}/{response.json()['id']}/refund")
    assert refund.status_code == 200
    assert balance(buyer) == Decimal("1.00")
    assert_ledger_consistent()


def test_a_product_moved_to_another_merchant_is_sold_for_the_new_one(auth_client):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)
    first_merchant = product.merchant
    assert buy(auth_client(buyer), product).status_code == 201
    new_merchant = MerchantFactory()
    Product.objects.filter(id=product.id).update(merchant=new_merchant)  # a manual data fix

    response = buy(auth_client(buyer), product)

    assert response.status_code == 201
    assert response.json()["merchantId"] == str(new_merchant.id)
    assert (balance(first_merchant), balance(new_merchant)) == (Decimal("10.00"), Decimal("10.00"))
    assert Order.objects.count() == 2


def _move_product_before_taking_units(monkeypatch, product, merchants, path):
    """Commit a move of `product` to the next of `merchants` (from another connection) between the
    purchase's wallet lock and its stock lock, on every attempt, on the purchase `path` asked for."""
    moves = iter(merchants)

    def move(merchant):
        Product.objects.filter(id=product.id).update(merchant=merchant)

    if path == "function":
        _move_while_the_function_waits_for_the_product(monkeypatch, product, moves, move)
        return
    # The ORM path, which SQLite takes, here on PostgreSQL: SQLite cannot run the mover's thread.
    monkeypatch.setattr(purchase, "_in_one_statement", lambda: False)
    take_units = locks.product_take_units

    def move_then_take(**kwargs):
        merchant = next(moves, None)
        if merchant is not None:
            mover = threading.Thread(target=lambda: (move(merchant), connection.close()))
            mover.start()
            mover.join()
        return take_units(**kwargs)

    monkeypatch.setattr(locks, "product_take_units", move_then_take)


def _move_while_the_function_waits_for_the_product(monkeypatch, product, moves, move):
    """The PostgreSQL path has no Python between its locks: another connection holds the product's
    row while an attempt starts, and moves it once the attempt, its wallets locked, waits for that row."""
    attempt = purchase._wallet_purchase_statement

    def hold_move_release(buyer_pid, held):
        with transaction.atomic():
            Product.objects.select_for_update().get(id=product.id)
            held.set()
            while not _waits_for_a_lock(buyer_pid):
                time.sleep(0.01)
            move(merchant)
        connection.close()

    def attempt_with_a_move(**kwargs):
        nonlocal merchant
        merchant = next(moves, None)
        if merchant is None:
            return attempt(**kwargs)
        held = threading.Event()
        mover = threading.Thread(target=hold_move_release, args=(connection.connection.info.backend_pid, held))
        mover.start()
        held.wait()
        try:
            return attempt(**kwargs)
        finally:
            mover.join()

    merchant = None
    monkeypatch.setattr(purchase, "_wallet_purchase_statement", attempt_with_a_move)


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [pid])
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["function", "orm"])
def test_a_product_moved_during_a_purchase_is_bought_again_from_its_new_merchant(auth_client, monkeypatch, path):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)
    first_merchant, new_merchant = product.merchant, MerchantFactory()
    _move_product_before_taking_units(monkeypatch, product, [new_merchant], path)

    response = buy(auth_client(buyer), product)

    assert response.status_code == 201
    assert response.json()["merchantId"] == str(new_merchant.id)
    assert (balance(first_merchant), balance(new_merchant), balance(buyer)) == (
        Decimal("0.00"),
        Decimal("10.00"),
        Decimal("90.00"),
    )
    assert Product.objects.get(id=product.id).available_units == 4
    assert Order.objects.count() == 1
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["function", "orm"])
def test_a_product_that_keeps_moving_is_refused_and_nothing_is_written(auth_client, monkeypatch, path):
    buyer = funded_buyer("100.00")
    product = ProductFactory(price=Decimal("10.00"), available_units=5)
    merchants = [MerchantFactory() for _ in range(3)]
    _move_product_before_taking_units(monkeypatch, product, merchants, path)

    response = buy(auth_client(buyer), product)

    assert (response.status_code, response.json()["code"]) == (409, "product_unavailable")
    assert balance(buyer) == Decimal("100.00")
    assert [balance(merchant) for merchant in merchants] == [Decimal("0.00")] * 3
    assert Product.objects.get(id=product.id).available_units == 5
    assert Order.objects.count() == 0
    assert_ledger_consistent()


def test_the_largest_order_the_bounds_allow_fits_every_column(auth_client):
    buyer = funded_buyer("100000000.00")
    product = ProductFactory(price=Decimal("1000000.00"), available_units=100)

    response = buy(auth_client(buyer), product, quantity=100)

    assert response.status_code == 201, response.content
    assert response.json()["totalAmount"] == "100000000.00"
    assert (balance(buyer), balance(product.merchant)) == (Decimal("0.00"), Decimal("100000000.00"))
    assert_ledger_consistent()


@pytest.mark.django_db
@pytest.mark.parametrize(("price", "quantity"), [("10.00", 1), ("12.35", 3), ("999999.99", 100)])
def test_the_answer_to_a_purchase_is_the_order_as_get_renders_it_byte_for_byte(auth_client, price, quantity):
    # On PostgreSQL the purchase function renders the answer itself (for its event too): it must be
    # exactly what OrderSerializer renders for the same order, key order and money strings included.
    buyer = funded_buyer("100000000.00")
    product = ProductFactory(price=Decimal(price), available_units=100)
    client = auth_client(buyer)

    created = buy(client, product, quantity=quantity)

    assert created.status_code == 201
    fetched = client.get(f"{ORDERS}/{created.json()['id']}")
    assert fetched.status_code == 200
    assert created.content == fetched.content
