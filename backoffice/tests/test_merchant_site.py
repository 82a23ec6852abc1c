"""/merchant/: only active merchants get in, and each sees and touches only its own rows."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory
from backoffice.tests.factories import operator, sale
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus, OrderStatusChange, StatusChangeSource
from wallets.models import EntryType, LedgerEntry
from wallets.services import wallet_withdraw
from wallets.tests.factories import wallet_of

pytestmark = pytest.mark.django_db

PRODUCTS = "/merchant/catalog/product/"
SALES = "/merchant/orders/order/"
LEDGER = "/merchant/wallets/ledgerentry/"


@pytest.fixture
def merchant_client(merchant):
    client = Client()
    client.force_login(merchant)
    return client


@pytest.fixture
def rival():
    """Another merchant, with a product, a sale and so a ledger of its own."""
    rival = MerchantFactory()
    product = ProductFactory(merchant=rival, name="Rival's product")
    sale(product)
    return rival


def results(response) -> list:
    return list(response.context["cl"].result_list)


# --- who gets in ------------------------------------------------------------------


def test_a_merchant_logs_in_with_its_api_credentials(merchant):
    client = Client()

    response = client.post(
        "/merchant/login/?next=/merchant/", {"username": merchant.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/merchant/"
    index = client.get("/merchant/")
    assert index.status_code == 200
    assert index.context["summary"].balance == Decimal("0.00")


@pytest.mark.parametrize(
    "account",
    [
        pytest.param(lambda: UserFactory(), id="user"),
        pytest.param(lambda: UserFactory(is_staff=True), id="staff-user"),
        pytest.param(lambda: operator(), id="superuser"),
        pytest.param(lambda: MerchantFactory(is_active=False), id="inactive-merchant"),
    ],
)
def test_only_active_merchants_can_log_in(account):
    client = Client()
    user = account()

    response = client.post("/merchant/login/", {"username": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
    assert client.get("/merchant/").status_code == 302


@pytest.mark.parametrize("url", ["/merchant/", PRODUCTS, SALES, LEDGER, f"{PRODUCTS}add/"])
def test_a_logged_in_staff_user_is_sent_to_the_merchant_login(url):
    client = Client()
    client.force_login(operator())

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/merchant/login/")


def test_anonymous_visitors_are_sent_to_the_login():
    response = Client().get(PRODUCTS)

    assert response.status_code == 302
    assert response["Location"].startswith("/merchant/login/")


def test_is_staff_grants_a_merchant_nothing_more():
    staff_merchant = MerchantFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff_merchant)

    index = client.get("/merchant/")

    assert index.status_code == 200
    models = {model["object_name"] for app in index.context["app_list"] for model in app["models"]}
    assert models == {"Product", "Order", "LedgerEntry"}
    assert client.get("/merchant/accounts/user/").status_code == 404
    assert client.get("/merchant/wallets/wallet/").status_code == 404
    assert client.get("/admin/").status_code == 302


def test_the_index_lists_products_sales_and_ledger_under_merchant_names(merchant_client):
    response = merchant_client.get("/merchant/")

    names = [model["name"] for app in response.context["app_list"] for model in app["models"]]
    assert sorted(names) == ["Products", "Sales", "Wallet ledger"]
    assert b"Payment Flow merchant" in response.content


def test_the_index_summarises_this_months_sales_and_the_balance(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, price=Decimal("12.50"))
    sale(product, quantity=2)
    sale(product, quantity=1)
    refunded = sale(product, quantity=4)
    Order.objects.filter(id=refunded.id).update(status=OrderStatus.REFUNDED)
    last_month = sale(product, quantity=1)
    Order.objects.filter(id=last_month.id).update(created_at=timezone.now().replace(day=1) - timezone.timedelta(days=1))

    summary = merchant_client.get("/merchant/").context["summary"]

    assert summary.units_sold == 3
    assert summary.revenue == Decimal("37.50")
    assert summary.net_revenue == Decimal("37.50")
    assert summary.balance == wallet_of(merchant).balance == Decimal("100.00")


# --- products -----------------------------------------------------------------------


def test_a_merchant_lists_only_its_own_live_products(merchant, merchant_client, rival):
    mine = ProductFactory(merchant=merchant, name="Mine")
    ProductFactory(merchant=merchant, name="Deleted", deleted_at=timezone.now())

    response = merchant_client.get(PRODUCTS)

    assert results(response) == [mine]
    assert b"Rival" not in response.content
    assert results(merchant_client.get(PRODUCTS, {"q": "Rival"})) == []


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_another_merchants_product_is_a_404_by_url(merchant_client, rival, suffix):
    theirs = Product.objects.get(merchant=rival)

    assert merchant_client.get(f"{PRODUCTS}{theirs.id}/{suffix}").status_code == 404
    assert (
        merchant_client.post(f"{PRODUCTS}{theirs.id}/{suffix}", {"post": "yes", "name": "Mine now"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert (theirs.name, theirs.deleted_at) == ("Rival's product", None)


def test_a_deleted_product_is_a_404_for_its_merchant_too(merchant, merchant_client):
    deleted = ProductFactory(merchant=merchant, deleted_at=timezone.now())

    assert merchant_client.get(f"{PRODUCTS}{deleted.id}/change/").status_code == 404


def test_a_merchant_creates_a_product_through_the_service(merchant, merchant_client, rival):
    response = merchant_client.post(
        f"{PRODUCTS}add/",
        {
            "name": "Field guide",
            "description": "Birds of the valley",
            "price": "12.50",
            "available_units": "40",
            "is_active": "on",
            "merchant": str(rival.id),
            "units_supplied": "999",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get(name="Field guide")
    assert product.merchant == merchant
    assert (product.price, product.available_units, product.units_supplied) == (Decimal("12.50"), 40, 40)
    assert response["Location"] == PRODUCTS


@pytest.mark.parametrize("price", ["0", "-1.00", "1.005", "abc"])
def test_an_invalid_price_is_a_form_error_and_creates_nothing(merchant_client, price):
    response = merchant_client.post(f"{PRODUCTS}add/", {"name": "Bad", "price": price, "available_units": "1"})

    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    assert not Product.objects.exists()


def test_a_merchant_edits_its_product_and_a_restock_moves_units_supplied(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, name="Old name", available_units=10)
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/",
        {"name": "New name", "description": "", "price": "10.00", "available_units": "17", "is_active": "on"},
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "New name"
    # 7 units were on sale, 3 held by the sale; the merchant added 10.
    assert (product.available_units, product.units_supplied) == (17, 20)


def product_form(**overrides) -> dict:
    form = {"name": "Guide", "description": "", "price": "10.00", "available_units": "10", "is_active": "on"}
    return {**form, **overrides}


def test_the_form_carries_the_stock_it_showed(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    page = merchant_client.get(f"{PRODUCTS}{product.id}/change/")
    assert page.context["adminform"].form["stock_shown"].value() == 10


def test_a_price_edit_posted_after_sales_does_not_put_sold_units_back(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    # The merchant opened the form at 10 units; 3 sell before it is posted back unchanged.
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/", product_form(price="12.00", available_units="10", stock_shown="10")
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.available_units, product.units_supplied) == (Decimal("12.00"), 7, 10)


def test_a_stock_edit_over_stock_that_moved_is_refused_for_review(merchant, merchant_client):
    product = ProductFactory(merchant=merchant, available_units=10)
    sale(product, quantity=3)

    response = merchant_client.post(
        f"{PRODUCTS}{product.id}/change/", product_form(available_units="15", stock_shown="10")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "available_units" in form.errors
    assert form["stock_shown"].value() == 7
    product.refresh_from_db()
    assert (product.available_units, product.units_supplied) == (7, 10)


def test_delete_is_a_soft_delete_through_the_service(merchant, merchant_client):
    product = ProductFactory(merchant=merchant)
    order = sale(product)

    confirmation = merchant_client.get(f"{PRODUCTS}{product.id}/delete/")
    response = merchant_client.post(f"{PRODUCTS}{product.id}/delete/", {"post": "yes"})

    assert confirmation.status_code == 200
    assert b"protected" not in confirmation.content
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert Order.objects.get(id=order.id).product_id == product.id
    assert merchant_client.get(f"{PRODUCTS}{product.id}/change/").status_code == 404


def test_the_delete_action_soft_deletes_only_the_merchants_own_products(merchant, merchant_client, rival):
    mine = ProductFactory(merchant=merchant)
    theirs = Product.objects.get(merchant=rival)

    response = merchant_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [str(mine.id), str(theirs.id)], "post": "yes"}
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.deleted_at is not None
    assert theirs.deleted_at is None
    assert Product.objects.count() == 2


# --- sales --------------------------------------------------------------------------


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

    response = merchant_client.post(SALES, {"action": "refund_sales", "_selected_action": [str(order.id)]}, follow=True)

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

    merchant_client.post(SALES, {"action": "refund_sales", "_selected_action": [str(theirs.id)]})

    assert Order.objects.get(id=theirs.id).status == OrderStatus.COMPLETED
    assert wallet_of(rival).balance == Decimal("10.00")


def test_a_refund_the_wallet_cannot_cover_is_an_error_message_and_changes_nothing(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant, price=Decimal("30.00")))
    wallet_withdraw(user=merchant, amount=Decimal("20.00"))

    response = merchant_client.post(SALES, {"action": "refund_sales", "_selected_action": [str(order.id)]}, follow=True)

    assert response.status_code == 200
    assert any(message.level_tag == "error" for message in response.context["messages"])
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED
    assert wallet_of(merchant).balance == Decimal("10.00")


def test_an_already_refunded_sale_is_skipped_with_a_warning(merchant, merchant_client):
    order = sale(ProductFactory(merchant=merchant))
    merchant_client.post(SALES, {"action": "refund_sales", "_selected_action": [str(order.id)]}, follow=True)

    response = merchant_client.post(SALES, {"action": "refund_sales", "_selected_action": [str(order.id)]}, follow=True)

    assert [message.level_tag for message in response.context["messages"]] == ["warning"]
    assert LedgerEntry.objects.filter(order_id=order.id, type=EntryType.REFUND).count() == 1


# --- ledger -------------------------------------------------------------------------


def test_a_merchant_sees_only_its_own_ledger(merchant, merchant_client, rival):
    order = sale(ProductFactory(merchant=merchant))

    response = merchant_client.get(LEDGER)

    entry = LedgerEntry.objects.get(wallet=wallet_of(merchant))
    assert results(response) == [entry]
    assert results(merchant_client.get(LEDGER, {"q": str(order.id)})) == [entry]
    rival_entry = LedgerEntry.objects.get(wallet=wallet_of(rival))
    assert results(merchant_client.get(LEDGER, {"q": str(rival_entry.id)})) == []


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_another_merchants_ledger_entry_is_a_404_by_url(merchant_client, rival, suffix):
    theirs = LedgerEntry.objects.get(wallet=wallet_of(rival))

    assert merchant_client.get(f"{LEDGER}{theirs.id}/{suffix}").status_code == 404


def test_the_ledger_is_read_only(merchant, merchant_client):
    sale(ProductFactory(merchant=merchant))
    entry = LedgerEntry.objects.get(wallet=wallet_of(merchant))

    assert merchant_client.get(f"{LEDGER}{entry.id}/change/").status_code == 200
    assert merchant_client.get(f"{LEDGER}add/").status_code == 403
    assert merchant_client.post(f"{LEDGER}{entry.id}/change/", {"amount": "1000.00"}).status_code == 403
    assert merchant_client.post(f"{LEDGER}{entry.id}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in merchant_client.get(LEDGER).content
    assert LedgerEntry.objects.get(id=entry.id).amount == entry.amount
