"""GET /orders/{id}/delivery and GET /library: what a buyer got, and only the buyer."""

import pytest

from accounts.tests.factories import MerchantFactory, UserFactory
from backoffice.tests.factories import operator
from catalog.models import DeliveryKind
from catalog.tests.factories import ProductFactory
from delivery.services.codes import codes_add
from delivery.services.deliveries import delivery_revoke_by_operator
from delivery.tests.files import API, buy, put_file
from orders.models import Order, OrderStatus
from orders.services import order_refund
from wallets.tests.factories import fund_wallet

pytestmark = pytest.mark.django_db


def test_a_codes_order_shows_its_codes_in_clear_to_its_buyer_only(merchant, auth_client, api_client):
    product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.CODES, available_units=0)
    codes_add(product_id=product.id, merchant=merchant, codes=["GIFT-AAAA-0001", "GIFT-AAAA-0002", "GIFT-AAAA-0003"])
    buyer = UserFactory()
    order = buy(buyer, product, quantity=2)
    url = f"{API}/orders/{order.id}/delivery"

    body = auth_client(buyer).get(url).json()

    assert (body["orderId"], body["status"], body["download"]) == (str(order.id), "DELIVERED", None)
    assert sorted(code["code"] for code in body["codes"]) == ["GIFT-AAAA-0001", "GIFT-AAAA-0002"]
    for stranger in (merchant, UserFactory(), MerchantFactory()):
        response = auth_client(stranger).get(url)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
        assert b"GIFT" not in response.content
    assert api_client.get(url).status_code == 401


def test_a_none_order_is_delivered_with_nothing_in_it(auth_client, product):
    order = buy(UserFactory(), product)

    body = auth_client(order.buyer).get(f"{API}/orders/{order.id}/delivery").json()

    assert body == {"orderId": str(order.id), "status": "DELIVERED", "codes": [], "download": None}


def test_an_unknown_order_is_404(user, auth_client):
    assert auth_client(user).get(f"{API}/orders/{user.id}/delivery").json()["code"] == "not_found"


def test_a_file_product_without_its_file_cannot_be_bought(user, auth_client, file_product):
    fund_wallet(user, "100.00")

    response = auth_client(user).post(
        f"{API}/orders", {"productId": str(file_product.id), "paymentMethod": "WALLET"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "product_unavailable")
    assert not Order.objects.exists()
    file_product.refresh_from_db()
    assert file_product.available_units == 10


def test_the_library_lists_completed_and_partially_refunded_orders_newest_first(
    merchant, auth_client, product, file_product
):
    put_file(auth_client(merchant), file_product, b"tracks")
    buyer = UserFactory()
    first = buy(buyer, product)
    refunded = buy(buyer, product)
    order_refund(order_id=refunded.id, actor=merchant, amount=None, reason="")
    partly = buy(buyer, file_product)
    order_refund(order_id=partly.id, actor=merchant, amount=partly.total_amount / 2, reason="")
    revoked = buy(buyer, file_product)
    delivery_revoke_by_operator(order_id=revoked.id, actor=operator(), reason="Chargeback")
    buy(UserFactory(), product)  # someone else's

    response = auth_client(buyer).get(f"{API}/library", {"limit": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["next"] is not None
    page = body["results"] + auth_client(buyer).get(f"{API}/library", {"limit": 2, "page": 2}).json()["results"]
    assert [(item["orderId"], item["deliveryKind"], item["status"]) for item in page] == [
        (str(revoked.id), "FILE", "REVOKED"),
        (str(partly.id), "FILE", "DELIVERED"),
        (str(first.id), "NONE", "DELIVERED"),
    ]
    assert set(page[0]) == {"orderId", "productId", "productName", "deliveryKind", "status", "purchasedAt"}
    assert page[0]["productId"] == str(file_product.id)
    assert page[0]["productName"] == file_product.name
    assert Order.objects.get(id=refunded.id).status == OrderStatus.REFUNDED


def test_the_library_needs_a_token(api_client):
    assert api_client.get(f"{API}/library").json()["code"] == "not_authenticated"
