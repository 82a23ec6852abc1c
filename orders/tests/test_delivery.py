"""What orders deliver: codes taken with a wallet purchase, reserved by a card order, burnt by a full refund."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.exceptions import OutOfStock
from catalog.models import DeliveryKind, Product
from catalog.tests.factories import ProductFactory
from core.tests.threads import run_together
from delivery.crypto import code_decrypt
from delivery.exceptions import DeliveryNotFound
from delivery.models import Code, CodeStatus, Delivery, DeliveryStatus, LicenseActivation
from delivery.selectors import delivery_get_for_buyer
from delivery.services.licenses import license_activate
from delivery.tests.factories import ProductFileFactory, codes_product
from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_purchase, order_refund
from orders.services.card import order_fail
from orders.tests.helpers import balance, card_order_pay, funded_buyer
from orders.tests.test_card import outcome_of, post_event, signed_event, succeeded_intent
from reconciliation.tests.helpers import failing, reconcile_json
from wallets.exceptions import InsufficientFunds
from wallets.models import LedgerEntry
from wallets.tests.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
D = Decimal


def buy(product, *, buyer=None, quantity=1, method=PaymentMethod.WALLET) -> Order:
    return order_purchase(
        buyer=buyer or funded_buyer("1000.00"), product_id=product.id, quantity=quantity, method=method
    )


def codes_of(order) -> dict[str, str]:
    """Return {code in clear: status} of the codes an order holds."""
    return {code_decrypt(c.ciphertext): c.status for c in Code.objects.filter(delivery__order_id=order.id)}


def stock(product) -> tuple[int, int]:
    product.refresh_from_db()
    return product.available_units, product.units_supplied


def assert_books_clean():
    _, document = reconcile_json()
    assert failing(document) == {}
    assert_ledger_consistent()


# --- wallet purchases -------------------------------------------------------------------------


def test_a_wallet_purchase_delivers_its_quantity_of_codes_to_the_buyer():
    product = codes_product(codes=["CODE-A-0001", "CODE-B-0002", "CODE-C-0003"], price="7.50")
    buyer = funded_buyer("100.00")

    order = buy(product, buyer=buyer, quantity=2)

    assert order.status == OrderStatus.COMPLETED
    held = codes_of(order)
    assert len(held) == 2 and set(held.values()) == {CodeStatus.DELIVERED}
    assert stock(product) == (1, 3)
    assert balance(buyer) == D("85.00")
    delivery = delivery_get_for_buyer(order_id=order.id, buyer=buyer)
    assert delivery.delivery.status == DeliveryStatus.DELIVERED
    assert sorted(code.code for code in delivery.codes) == sorted(held)
    assert_books_clean()


def test_the_delivery_is_only_its_buyers():
    product = codes_product(codes=1)
    order = buy(product)

    with pytest.raises(DeliveryNotFound):
        delivery_get_for_buyer(order_id=order.id, buyer=product.merchant)


def test_more_codes_than_the_pool_holds_is_out_of_stock_and_takes_nothing():
    product = codes_product(codes=2)
    buyer = funded_buyer("100.00")

    with pytest.raises(OutOfStock):
        buy(product, buyer=buyer, quantity=3)

    assert set(Code.objects.filter(product=product).values_list("status", flat=True)) == {CodeStatus.AVAILABLE}
    assert (stock(product), balance(buyer), Order.objects.count(), Delivery.objects.count()) == ((2, 2), D(100), 0, 0)


def test_a_pool_smaller_than_the_stock_says_is_out_of_stock_and_takes_nothing():
    # Stock and pool disagreeing is a fault reconcile reports; a purchase must still take nothing.
    product = codes_product(codes=2)
    Product.objects.filter(id=product.id).update(available_units=5, units_supplied=5)
    buyer = funded_buyer("100.00")

    with pytest.raises(OutOfStock, match=r"Only 2 codes available, 3 requested\."):
        buy(product, buyer=buyer, quantity=3)

    assert set(Code.objects.filter(product=product).values_list("status", flat=True)) == {CodeStatus.AVAILABLE}
    assert (stock(product), balance(buyer), Order.objects.count(), Delivery.objects.count()) == ((5, 5), D(100), 0, 0)


def test_a_purchase_refused_for_funds_keeps_its_codes_available():
    product = codes_product(codes=2, price="60.00")

    with pytest.raises(InsufficientFunds):
        buy(product, buyer=funded_buyer("50.00"))

    assert set(Code.objects.filter(product=product).values_list("status", flat=True)) == {CodeStatus.AVAILABLE}
    assert stock(product) == (2, 2)
    assert not Delivery.objects.exists()


def test_a_file_product_without_its_file_cannot_be_bought(auth_client):
    product = ProductFactory(delivery_kind=DeliveryKind.FILE, available_units=5, price=D("5.00"))
    buyer = funded_buyer("20.00")

    response = auth_client(buyer).post(ORDERS, {"productId": str(product.id), "paymentMethod": "WALLET"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert (stock(product), balance(buyer), Order.objects.count()) == ((5, 5), D("20.00"), 0)
    assert not LedgerEntry.objects.filter(type="PURCHASE").exists()


def test_a_file_product_with_its_file_is_delivered():
    product_file = ProductFileFactory()

    order = buy(product_file.product)

    delivery = Delivery.objects.get(order_id=order.id)
    assert (delivery.status, delivery.delivered_at is not None) == (DeliveryStatus.DELIVERED, True)


def test_a_product_with_nothing_to_deliver_is_delivered_with_nothing(product):
    buyer = funded_buyer("100.00")
    order = buy(product, buyer=buyer)

    delivery = delivery_get_for_buyer(order_id=order.id, buyer=buyer)

    assert (delivery.delivery.status, delivery.codes) == (DeliveryStatus.DELIVERED, [])


# --- refunds ----------------------------------------------------------------------------------


def test_a_partial_refund_leaves_the_codes_delivered(product):
    product = codes_product(codes=3, price="10.00")
    order = buy(product, quantity=2)

    order_refund(order_id=order.id, actor=product.merchant, amount=D("5.00"))

    assert set(codes_of(order).values()) == {CodeStatus.DELIVERED}
    assert Delivery.objects.get(order_id=order.id).status == DeliveryStatus.DELIVERED
    assert_books_clean()


def test_the_full_refund_burns_the_codes_ends_their_licenses_and_returns_no_stock():
    product = codes_product(codes=3, price="10.00", activation_limit=2)
    buyer = funded_buyer("100.00")
    order = buy(product, buyer=buyer, quantity=2)
    key = next(iter(codes_of(order)))
    license_activate(key=key, instance_name="Laptop")

    order_refund(order_id=order.id, actor=product.merchant, amount=D("5.00"))
    order_refund(order_id=order.id, actor=product.merchant)

    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert set(codes_of(order).values()) == {CodeStatus.REVOKED}
    assert Delivery.objects.get(order_id=order.id).status == DeliveryStatus.REVOKED
    assert not LicenseActivation.objects.filter(deactivated_at__isnull=True).exists()
    # The two burnt codes leave the supply; the one left is still for sale.
    assert stock(product) == (1, 1)
    assert balance(buyer) == D("100.00")
    assert delivery_get_for_buyer(order_id=order.id, buyer=buyer).codes == []
    assert_books_clean()


def test_the_full_refund_of_a_product_without_codes_returns_its_units(product):
    order = buy(product, quantity=2)

    order_refund(order_id=order.id, actor=product.merchant)

    assert stock(product) == (10, 10)
    assert Delivery.objects.get(order_id=order.id).status == DeliveryStatus.REVOKED
    assert_books_clean()


# --- card orders ------------------------------------------------------------------------------


def test_a_card_order_reserves_its_codes_and_delivers_them_when_paid(stripe_settings):
    product = codes_product(codes=3, price="25.00")
    buyer = funded_buyer("0")

    order = buy(product, buyer=buyer, quantity=2, method=PaymentMethod.GATEWAY)

    assert order.status == OrderStatus.PENDING
    assert set(codes_of(order).values()) == {CodeStatus.RESERVED}
    assert stock(product) == (1, 3)
    pending = delivery_get_for_buyer(order_id=order.id, buyer=buyer)
    assert (pending.delivery.status, pending.codes) == (DeliveryStatus.PENDING, [])
    assert_books_clean()

    order = card_order_pay(order)

    assert order.status == OrderStatus.COMPLETED
    assert set(codes_of(order).values()) == {CodeStatus.DELIVERED}
    assert len(delivery_get_for_buyer(order_id=order.id, buyer=buyer).codes) == 2
    assert_books_clean()


def test_the_payment_webhook_delivers_the_reserved_codes(stripe_settings, auth_client, api_client, settings):
    product = codes_product(codes=2, price="25.00")
    buyer = funded_buyer("0")
    created = auth_client(buyer).post(ORDERS, {"productId": str(product.id), "paymentMethod": "GATEWAY"}, format="json")
    order = Order.objects.get(id=created.json()["id"])
    body, header = signed_event(settings, event_type="payment_intent.succeeded", intent=succeeded_intent(order))

    assert post_event(api_client, body, header).status_code == 200
    # Stored by the request, processed by the task (its body run by post_event, as the worker would).
    assert outcome_of(body) == "PROCESSED"

    assert set(codes_of(order).values()) == {CodeStatus.DELIVERED}
    assert len(delivery_get_for_buyer(order_id=order.id, buyer=buyer).codes) == 1
    assert_books_clean()


def test_a_failed_card_payment_releases_its_codes(stripe_settings):
    product = codes_product(codes=2)
    order = buy(product, buyer=funded_buyer("0"), quantity=2, method=PaymentMethod.GATEWAY)

    order_fail(order_id=order.id, reason="Card declined", source="WEBHOOK")

    assert codes_of(order) == {}
    assert set(Code.objects.filter(product=product).values_list("status", flat=True)) == {CodeStatus.AVAILABLE}
    assert stock(product) == (2, 2)
    assert Delivery.objects.get(order_id=order.id).status == DeliveryStatus.PENDING
    assert_books_clean()
    # Released codes are sold again.
    assert len(codes_of(buy(product, quantity=2))) == 2


def test_an_expired_card_order_releases_its_codes(stripe_settings):
    product = codes_product(codes=2)
    order = buy(product, buyer=funded_buyer("0"), method=PaymentMethod.GATEWAY)
    Order.objects.filter(id=order.id).update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("expire_orders")

    assert Order.objects.get(id=order.id).status == OrderStatus.EXPIRED
    assert codes_of(order) == {}
    assert stock(product) == (2, 2)
    assert_books_clean()


def test_the_full_refund_of_a_card_order_burns_its_codes(stripe_settings):
    product = codes_product(codes=2, price="25.00")
    order = card_order_pay(buy(product, buyer=funded_buyer("0"), method=PaymentMethod.GATEWAY))

    order_refund(order_id=order.id, actor=product.merchant)

    assert Order.objects.get(id=order.id).status == OrderStatus.REFUNDED
    assert set(codes_of(order).values()) == {CodeStatus.REVOKED}
    assert stock(product) == (1, 1)
    assert_books_clean()


# --- races ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_racing_for_five_codes_get_five_distinct_codes():
    product = codes_product(codes=5, price="10.00")
    buyers = [funded_buyer("10.00") for _ in range(20)]

    results = run_together(20, lambda i: buy(product, buyer=buyers[i]))

    orders = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if not isinstance(result, Order)]
    assert len(orders) == 5
    assert len(refused) == 15 and all(isinstance(error, OutOfStock) for error in refused)
    delivered = [code for order in orders for code in codes_of(order)]
    assert len(delivered) == len(set(delivered)) == 5
    assert Code.objects.filter(status=CodeStatus.DELIVERED).count() == 5
    assert stock(product) == (0, 5)
    assert sorted(balance(buyer) for buyer in buyers) == [D("0.00")] * 5 + [D("10.00")] * 15
    assert balance(product.merchant) == D("50.00")
    assert_books_clean()


@pytest.mark.django_db(transaction=True)
def test_card_and_wallet_buyers_racing_for_three_codes_never_share_one(stripe_settings):
    product = codes_product(codes=3, price="10.00")
    buyers = [funded_buyer("10.00") for _ in range(10)]

    results = run_together(
        10,
        lambda i: buy(product, buyer=buyers[i], method=PaymentMethod.GATEWAY if i % 2 else PaymentMethod.WALLET),
    )

    orders = [result for result in results if isinstance(result, Order)]
    assert len(orders) == 3
    assert all(isinstance(r, OutOfStock) for r in results if not isinstance(r, Order))
    held = [code for order in orders for code in codes_of(order)]
    assert len(held) == len(set(held)) == 3
    assert stock(product) == (0, 3)
    assert_books_clean()
