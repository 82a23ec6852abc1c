"""GET /metrics and what it counts (docs/operations.md, Metrics), in this process's registry.

The sum over several gunicorn workers is tested on a real server in
paymentflow/tests/test_metrics_server.py.
"""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import webhook_delivery_record
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund, purchase
from wallets import services
from wallets.exceptions import InsufficientFunds

pytestmark = pytest.mark.django_db

METRICS = "/api/v1/metrics"
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(api_client) -> dict[tuple[str, frozenset], float]:
    response = api_client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_without_a_token_setting_there_is_no_endpoint(api_client, settings):
    settings.METRICS_TOKEN = ""

    response = api_client.get(METRICS, HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("", "not_authenticated"),
        ("Bearer", "not_authenticated"),
        (f"Basic {TOKEN}", "not_authenticated"),
        ("Bearer wrong", "invalid_token"),
        (f"Bearer {TOKEN}x", "invalid_token"),
        (f"Bearer {TOKEN[:-1]}", "invalid_token"),
    ],
)
def test_a_missing_or_wrong_token_is_a_401_problem(api_client, metrics_token, authorization, code):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = api_client.get(METRICS, HTTP_ACCEPT="text/plain", **headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_user_s_jwt_is_not_the_metrics_token(auth_client, user, metrics_token):
    response = auth_client(user).get(METRICS)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_the_token_gets_prometheus_text_whatever_the_scraper_accepts(api_client, metrics_token):
    response = api_client.get(
        METRICS,
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ACCEPT="application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "paymentflow_http_requests",
        "paymentflow_http_request_duration_seconds",
        "paymentflow_orders",
        "paymentflow_ledger_journals",
        "paymentflow_webhook_deliveries",
    } <= names


def test_requests_are_counted_by_view_name_never_by_path(api_client, auth_client, user, metrics_token, product):
    labels = {"view": "product-detail", "method": "GET", "status": "200"}
    before = sample("paymentflow_http_requests_total", **labels)
    seconds_before = sample("paymentflow_http_request_duration_seconds_count", **labels)
    unknown = {"view": "api-not-found", "method": "GET", "status": "404"}
    unknown_before = sample("paymentflow_http_requests_total", **unknown)

    api_client.get(f"/api/v1/products/{product.id}")
    api_client.get(f"/api/v1/products/{product.id}")
    api_client.get("/api/v1/no/such/path/1")
    api_client.get("/api/v1/no/such/path/2")
    samples = scrape(api_client)

    assert sample("paymentflow_http_requests_total", **labels) == before + 2
    assert sample("paymentflow_http_request_duration_seconds_count", **labels) == seconds_before + 2
    assert sample("paymentflow_http_requests_total", **unknown) == unknown_before + 2
    views = {dict(key[1]).get("view") for key in samples if key[0] == "paymentflow_http_requests_total"}
    assert not any("/" in view for view in views), views


def test_a_method_nobody_knows_is_labelled_other(api_client):
    labels = {"view": "product-list", "method": "other", "status": "401"}
    before = sample("paymentflow_http_requests_total", **labels)

    response = api_client.generic("BREW", "/api/v1/products")

    assert response.status_code == 401
    assert sample("paymentflow_http_requests_total", **labels) == before + 1


@pytest.mark.parametrize("in_one_statement", [True, False], ids=["function", "orm"])
def test_orders_are_counted_per_status_reached_after_commit(
    django_capture_on_commit_callbacks, user, product, funded_wallet, monkeypatch, in_one_statement
):
    # Both wallet purchase paths count (the function's on PostgreSQL only: SQLite cannot run it).
    if in_one_statement and connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL function")
    monkeypatch.setattr(purchase, "_in_one_statement", lambda: in_one_statement)
    funded_wallet(user, "100.00")
    completed = {"status": "COMPLETED", "payment_method": "WALLET"}
    partial = {"status": "PARTIALLY_REFUNDED", "payment_method": "WALLET"}
    before = (sample("paymentflow_orders_total", **completed), sample("paymentflow_orders_total", **partial))
    purchases_before = sample("paymentflow_ledger_journals_total", kind="PURCHASE")

    with django_capture_on_commit_callbacks(execute=True):
        order = order_purchase(buyer=user, product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order_id=order.id, actor=product.merchant, amount=Decimal("2.00"))
    with django_capture_on_commit_callbacks(execute=True):
        # Still partially refunded: a status reached once counts once.
        order_refund(order_id=order.id, actor=product.merchant, amount=Decimal("2.00"))

    after = (sample("paymentflow_orders_total", **completed), sample("paymentflow_orders_total", **partial))
    assert after == (before[0] + 1, before[1] + 1)
    assert sample("paymentflow_ledger_journals_total", kind="PURCHASE") == purchases_before + 1


def test_journals_are_counted_by_kind_and_a_rolled_back_one_is_not(django_capture_on_commit_callbacks, user):
    before = sample("paymentflow_ledger_journals_total", kind="DEPOSIT")
    withdrawals_before = sample("paymentflow_ledger_journals_total", kind="WITHDRAWAL")

    with django_capture_on_commit_callbacks(execute=True):
        services.wallet_deposit(user=user, amount=Decimal("10.00"))
        services.wallet_deposit(user=user, amount=Decimal("5.00"))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InsufficientFunds):
        services.wallet_withdraw(user=user, amount=Decimal("99.00"))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.wallet_withdraw(user=user, amount=Decimal("1.00"))
        raise RuntimeError("roll the withdrawal back")

    assert sample("paymentflow_ledger_journals_total", kind="DEPOSIT") == before + 2
    assert sample("paymentflow_ledger_journals_total", kind="WITHDRAWAL") == withdrawals_before


def test_webhook_deliveries_are_counted_by_status_and_rendered(
    django_capture_on_commit_callbacks, api_client, metrics_token
):
    before = sample("paymentflow_webhook_deliveries_total", status="SUCCEEDED")

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_record(status="SUCCEEDED")
        webhook_delivery_record(status="FAILED")

    samples = scrape(api_client)
    assert samples[("paymentflow_webhook_deliveries_total", frozenset({("status", "SUCCEEDED")}))] == before + 1
    assert samples[("paymentflow_webhook_deliveries_total", frozenset({("status", "FAILED")}))] >= 1
