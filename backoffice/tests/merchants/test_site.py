"""/merchant/: only active merchants get in, and the index sums up their month."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory
from backoffice.tests.factories import operator, sale
from backoffice.tests.merchants.helpers import LEDGER, PRODUCTS, SALES
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus
from wallets.tests.factories import wallet_of

pytestmark = pytest.mark.django_db


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
    assert models == {
        "Product",
        "Order",
        "LedgerEntry",
        "Code",
        "WebhookEndpoint",
        "WebhookDelivery",
        "NotificationPreference",
    }
    assert client.get("/merchant/accounts/user/").status_code == 404
    assert client.get("/merchant/wallets/wallet/").status_code == 404
    assert client.get("/admin/").status_code == 302


def test_the_index_lists_products_codes_sales_and_ledger_under_merchant_names(merchant_client):
    response = merchant_client.get("/merchant/")

    names = [model["name"] for app in response.context["app_list"] for model in app["models"]]
    assert sorted(names) == [
        "Codes",
        "Email notifications",
        "Products",
        "Sales",
        "Wallet ledger",
        "Webhook deliveries",
        "Webhooks",
    ]
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
