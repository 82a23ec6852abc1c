"""/admin/: staff only, never a merchant; the index shows what an operator checks first."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory
from backoffice.sites import OperatorAdminSite, operator_site
from backoffice.tests.factories import operator, sale
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus, PaymentMethod, WebhookEvent, WebhookOutcome
from reconciliation.models import ReconciliationRun
from wallets.models import Journal, LedgerEntry, Wallet
from wallets.services import wallet_freeze

pytestmark = pytest.mark.django_db


def test_admin_site_is_the_operators_site():
    site = resolve("/admin/").func.admin_site
    assert isinstance(site, OperatorAdminSite)
    assert site.site_header == "Payment Flow operations"


def test_an_operator_logs_in_by_email():
    staff = operator(email="ops@example.com")
    client = Client()

    response = client.post("/admin/login/?next=/admin/", {"username": "OPS@example.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").context["user"] == staff


@pytest.mark.parametrize(
    "account",
    [
        pytest.param(lambda: UserFactory(), id="user"),
        pytest.param(lambda: MerchantFactory(), id="merchant"),
        pytest.param(lambda: MerchantFactory(is_staff=True, is_superuser=True), id="staff-merchant"),
        pytest.param(lambda: operator(is_active=False), id="inactive-operator"),
    ],
)
def test_users_and_merchants_cannot_log_in_to_the_admin(account):
    client = Client()
    user = account()

    response = client.post("/admin/login/", {"username": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "account",
    [
        pytest.param(lambda: UserFactory(), id="user"),
        pytest.param(lambda: MerchantFactory(is_staff=True, is_superuser=True), id="staff-merchant"),
    ],
)
@pytest.mark.parametrize("url", ["/admin/", "/admin/wallets/wallet/", "/admin/orders/order/"])
def test_a_logged_in_non_operator_is_sent_to_the_admin_login(account, url):
    client = Client()
    client.force_login(account())

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_index_lists_every_operator_page(operator_client):
    response = operator_client.get("/admin/")

    pages = {model["model"]._meta.label for app in response.context["app_list"] for model in app["models"]}
    assert pages == {
        "accounts.User",
        "auth.Group",
        "token_blacklist.OutstandingToken",
        "token_blacklist.BlacklistedToken",
        "wallets.Wallet",
        "backoffice.MerchantReceivable",
        "wallets.Journal",
        "wallets.LedgerEntry",
        "reconciliation.ReconciliationRun",
        "catalog.Product",
        "orders.Order",
        "orders.WebhookEvent",
        "delivery.Delivery",
        "delivery.Code",
        "delivery.ProductFile",
        "delivery.Revocation",
        "notifications.WebhookEndpoint",
        "notifications.WebhookDelivery",
        "notifications.OutgoingEmail",
        "core.OutboxEvent",
    }


def test_the_dashboard_on_a_quiet_day(operator_client):
    response = operator_client.get("/admin/")

    dashboard = response.context["dashboard"]
    assert (dashboard.sales_today_count, dashboard.sales_today_volume) == (0, Decimal("0.00"))
    assert dashboard.last_reconciliation is None
    assert b"Never run" in response.content
    assert b"Payment Flow operations" in response.content


def test_the_dashboard_counts_what_needs_attention(operator_client):
    product = ProductFactory(price=Decimal("12.50"))
    sale(product, quantity=2)
    sale(product, quantity=1)
    yesterday = sale(product)
    Order.objects.filter(id=yesterday.id).update(created_at=timezone.now() - timedelta(days=1))
    refunded = sale(product)
    Order.objects.filter(id=refunded.id).update(status=OrderStatus.REFUNDED)
    pending = sale(product)
    Order.objects.filter(id=pending.id).update(status=OrderStatus.PENDING, payment_method=PaymentMethod.GATEWAY)
    WebhookEvent.objects.create(event_id="evt_1", type="payment_intent.succeeded", payload={}, outcome="FAILED")
    WebhookEvent.objects.create(event_id="evt_2", type="payment_intent.succeeded", payload={}, outcome="PROCESSED")
    wallet_freeze(wallet=Wallet.objects.get(user=product.merchant), operator=None)
    now = timezone.now()
    ReconciliationRun.objects.create(started_at=now - timedelta(days=1), finished_at=now, clean=True)
    latest = ReconciliationRun.objects.create(started_at=now, finished_at=now, clean=False, discrepancy_count=2)

    response = operator_client.get("/admin/")

    dashboard = response.context["dashboard"]
    assert (dashboard.sales_today_count, dashboard.sales_today_volume) == (2, Decimal("37.50"))
    assert dashboard.pending_gateway_orders == 1
    assert dashboard.failed_webhook_events == WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED).count() == 1
    assert dashboard.frozen_wallets == 1
    assert dashboard.last_reconciliation == latest
    assert b"2 discrepancies" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/wallets/wallet/",
        "/admin/wallets/journal/",
        "/admin/wallets/ledgerentry/",
        "/admin/reconciliation/reconciliationrun/",
        "/admin/orders/order/",
        "/admin/orders/webhookevent/",
        "/admin/catalog/product/",
        "/admin/accounts/user/",
    ],
)
def test_no_delete_action_on_money_or_accounts(operator_client, url):
    sale(ProductFactory())

    response = operator_client.get(url)

    assert response.status_code == 200
    assert b"delete_selected" not in response.content


@pytest.mark.parametrize(
    "model",
    [Wallet, Journal, LedgerEntry, ReconciliationRun, Order, WebhookEvent],
    ids=lambda model: model._meta.model_name,
)
def test_no_delete_permission_on_money_even_for_a_superuser(rf, model):
    request = rf.get("/admin/")
    request.user = operator()

    assert not operator_site.get_model_admin(model).has_delete_permission(request)
