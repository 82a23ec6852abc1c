"""The index pages' figures and charts, and the lists' date ranges, totals and CSV exports, on both sites."""

import csv
import io
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import MerchantFactory, UserFactory
from backoffice.selectors import DASHBOARD_DAYS, merchant_summary, operator_dashboard
from backoffice.templatetags.backoffice_charts import _ceiling
from backoffice.tests.factories import days_ago, operator, refund_action, sale
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus, StatusChangeSource
from orders.services import order_refund
from wallets.models import SYSTEM_WALLET_IDS, WalletKind
from wallets.tests.factories import fund_wallet

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
LEDGER = "/admin/wallets/ledgerentry/"
SALES = "/merchant/orders/order/"
MERCHANT_LEDGER = "/merchant/wallets/ledgerentry/"


@pytest.fixture
def fees(settings):
    settings.PLATFORM_FEE_PERCENT = Decimal("10")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def exported(response) -> list[dict]:
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_operators_dashboard_sums_the_last_30_days_per_day(fees):
    product = ProductFactory(price=Decimal("12.50"))
    days_ago(sale(product, quantity=2), 3)
    days_ago(sale(product, quantity=1), 3)
    sale(product, quantity=1)
    days_ago(sale(product), DASHBOARD_DAYS)  # the day before the window
    refunded = sale(product, quantity=1)
    order_refund(order_id=refunded.id, actor=operator(), amount=Decimal("5.00"), source=StatusChangeSource.ADMIN)

    dashboard = operator_dashboard()

    assert len(dashboard.sales_per_day) == DASHBOARD_DAYS
    assert dashboard.sales_per_day[-1].day == timezone.now().astimezone(UTC).date()
    by_day = {point.day: (point.count, point.amount) for point in dashboard.sales_per_day if point.count}
    today = timezone.now().astimezone(UTC).date()
    assert by_day == {today - timedelta(days=3): (2, Decimal("37.50")), today: (2, Decimal("25.00"))}
    assert all(isinstance(point.amount, Decimal) for point in dashboard.sales_per_day)
    # Fees: 10 % of 25.00 + 12.50 + 12.50 + 12.50 inside the window, less the refunded 10 % of 5.00.
    assert dashboard.fee_revenue == Decimal("6.25") - Decimal("0.50")
    assert (dashboard.refund_count, dashboard.refund_amount) == (1, Decimal("5.00"))


def test_the_merchants_summary_per_day_and_per_product(merchant, fees):
    guide = ProductFactory(merchant=merchant, name="Field guide", price=Decimal("12.50"))
    map_ = ProductFactory(merchant=merchant, name="Map", price=Decimal("3.10"))
    days_ago(sale(guide, quantity=2), 1)
    sale(map_, quantity=3)
    refunded = sale(map_, quantity=1)
    order_refund(order_id=refunded.id, actor=merchant, source=StatusChangeSource.ADMIN)
    sale(ProductFactory(name="Someone else's"))

    summary = merchant_summary(merchant=merchant)

    assert [(p.name, p.units, p.revenue) for p in summary.products] == [
        ("Field guide", 2, Decimal("25.00")),
        ("Map", 4, Decimal("12.40")),
    ]
    assert [(p.count, p.amount) for p in summary.revenue_per_day[-2:]] == [(1, Decimal("25.00")), (2, Decimal("12.40"))]
    assert (summary.refund_count, summary.refund_amount) == (1, Decimal("3.10"))
    # 37.40 sold less 10 % fees, less the refund of 3.10 net of its 0.31 fee.
    assert summary.balance == Decimal("30.87")


def test_both_index_pages_draw_their_charts_in_a_bounded_number_of_queries(
    merchant, django_assert_max_num_queries, django_assert_num_queries
):
    product = ProductFactory(merchant=merchant)
    sale(product)
    operator_client, merchant_client = client_of(operator()), client_of(merchant)
    operator_client.get("/admin/")
    merchant_client.get("/merchant/")
    with django_assert_max_num_queries(20) as few:
        operator_client.get("/admin/")
    with django_assert_max_num_queries(20) as few_merchant:
        merchant_client.get("/merchant/")
    for n in range(5):
        days_ago(sale(ProductFactory(merchant=merchant, name=f"Product {n}"), quantity=2), n)

    with django_assert_num_queries(len(few.captured_queries)):
        ops = operator_client.get("/admin/")
    with django_assert_num_queries(len(few_merchant.captured_queries)):
        shop = merchant_client.get("/merchant/")

    assert ops.content.count(b'class="pf-bar"') == 2 * DASHBOARD_DAYS
    assert b'id="sales-volume-chart"' in ops.content
    assert b'id="fee-revenue"' in ops.content
    assert shop.content.count(b'<rect class="pf-bar"') == DASHBOARD_DAYS + 6
    assert b"Product 4" in shop.content


def test_a_date_range_narrows_the_orders_and_their_totals(fees):
    client = client_of(operator())
    product = ProductFactory(price=Decimal("10.00"))
    old = days_ago(sale(product, quantity=3), 10)
    recent = days_ago(sale(product, quantity=2), 2)
    sale(product, quantity=1)
    start, end = (recent.created_at.date().isoformat(), (recent.created_at.date() + timedelta(days=1)).isoformat())

    everything = client.get(ORDERS).context["list_totals"]
    narrowed = client.get(ORDERS, {"created_at__from": start, "created_at__to": end})

    assert everything["rows"] == 3
    assert everything["sums"] == [("Total", Decimal("60.00")), ("Fees", Decimal("6.00"))]
    assert [order.id for order in narrowed.context["cl"].result_list] == [recent.id]
    assert narrowed.context["list_totals"] == {
        "rows": 1,
        "sums": [("Total", Decimal("20.00")), ("Fees", Decimal("2.00"))],
    }
    until_old = client.get(ORDERS, {"created_at__to": old.created_at.date().isoformat()}).context["cl"].result_list
    assert [order.id for order in until_old] == [old.id]
    assert b'value="' + start.encode() + b'"' in narrowed.content


def test_a_date_that_does_not_parse_is_the_admins_bad_lookup_answer():
    response = client_of(operator()).get(ORDERS, {"created_at__from": "yesterday"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_operators_lists_show_short_ids_and_the_full_id_on_hover():
    order = sale(ProductFactory())

    content = client_of(operator()).get(ORDERS).content.decode()

    assert f'<code class="pf-id" title="{order.id}">{str(order.id)[:8]}</code>' in content
    assert f">{order.id}<" not in content


def test_system_accounts_show_the_sum_of_their_entries(fees):
    sale(ProductFactory(price=Decimal("20.00")))
    sale(ProductFactory(price=Decimal("20.00")))

    response = client_of(operator()).get("/admin/wallets/wallet/", {"kind__exact": WalletKind.PLATFORM_REVENUE})

    (platform,) = response.context["cl"].result_list
    admin = response.context["cl"].model_admin
    assert platform.id == SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE]
    assert admin.shown_balance(platform) == Decimal("4.00")
    assert b"4.00" in response.content


def test_the_operators_order_export_streams_the_filtered_rows():
    client = client_of(operator())
    product = ProductFactory(price=Decimal("10.00"), name="=HYPERLINK(evil)")
    days_ago(sale(product), 5)
    kept = sale(product, quantity=2)

    response = client.get(f"{ORDERS}export.csv", {"created_at__from": timezone.now().date().isoformat()})

    rows = exported(response)
    assert [(row["id"], row["total_amount"], row["buyer_email"]) for row in rows] == [
        (str(kept.id), "20.00", kept.buyer.email)
    ]
    assert rows[0]["product"] == "'=HYPERLINK(evil)"
    filename = response["Content-Disposition"].split('"')[1]
    assert filename.startswith("orders-")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [f"Exported 1 row to {filename}."]


def test_the_operators_ledger_export_has_every_entry_of_the_filter(django_assert_max_num_queries):
    customer = UserFactory()
    fund_wallet(customer, "50.00")
    fund_wallet(customer, "25.00")
    client = client_of(operator())

    with django_assert_max_num_queries(12):
        rows = exported(client.get(f"{LEDGER}export.csv", {"wallet__kind__exact": WalletKind.USER}))

    assert sorted(row["amount"] for row in rows) == ["25.00", "50.00"]
    assert {row["owner_email"] for row in rows} == {customer.email}


def test_a_merchant_exports_only_its_own_sales_with_the_buyers_email(merchant):
    buyer = UserFactory(email="ada@example.com")
    fund_wallet(buyer, "100.00")
    mine = sale(ProductFactory(merchant=merchant, price=Decimal("7.00")), buyer=buyer)
    sale(ProductFactory(merchant=MerchantFactory()))
    client = client_of(merchant)

    listed = client.get(SALES)
    rows = exported(client.get(f"{SALES}export.csv"))
    ledger = exported(client.get(f"{MERCHANT_LEDGER}export.csv"))

    assert b"ada@example.com" in listed.content
    assert listed.context["list_totals"]["sums"][0] == ("Total", Decimal("7.00"))
    assert [(row["id"], row["buyer_email"]) for row in rows] == [(str(mine.id), "ada@example.com")]
    assert [(row["type"], row["amount"], row["order_id"]) for row in ledger] == [("SALE", "7.00", str(mine.id))]


def test_a_merchant_filters_its_ledger_by_date(merchant):
    product = ProductFactory(merchant=merchant, price=Decimal("4.00"))
    days_ago(sale(product), 4)
    sale(product)
    client = client_of(merchant)

    response = client.get(MERCHANT_LEDGER, {"created_at__to": (timezone.now() - timedelta(days=1)).date().isoformat()})

    assert response.context["list_totals"] == {"rows": 1, "sums": [("Net change", Decimal("4.00"))]}


def test_a_bulk_refund_says_how_many_were_refunded_and_why_others_were_refused():
    client = client_of(operator())
    product = ProductFactory()
    done, fresh = sale(product), sale(product)
    refund_action(client, ORDERS, "refund_orders", done)

    response = refund_action(client, ORDERS, "refund_orders", done, fresh)

    texts = [str(message) for message in response.context["messages"]]
    assert texts[0] == "Refunded 1 order(s), 1 refused:"
    assert texts[1].startswith(f"Order {done.id}: ")
    assert Order.objects.get(id=fresh.id).status == OrderStatus.REFUNDED


@pytest.mark.parametrize(
    ("account", "url"),
    [
        pytest.param(lambda: MerchantFactory(), f"{ORDERS}export.csv", id="merchant-on-admin"),
        pytest.param(lambda: UserFactory(), f"{SALES}export.csv", id="user-on-merchant"),
        pytest.param(lambda: operator(), f"{SALES}export.csv", id="operator-on-merchant"),
    ],
)
def test_only_the_sites_own_users_export(account, url):
    sale(ProductFactory())

    response = client_of(account()).get(url)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_axis_tops_are_round_numbers():
    tops = [_ceiling(Decimal(value)) for value in ("0", "0.40", "3", "37.50", "100", "101")]

    assert tops == [Decimal(top) for top in ("1", "0.5", "5", "50", "100", "200")]
