"""Both back offices driven in headless Chromium (Debian's) against a live server.

With SCREENSHOTS_DIR set (`make screenshots` sets it to docs/), the dashboard
tests also save screenshots of their back office's index page (with its
charts) and of a filtered list there, for docs/operations.md; without it nothing is written, so the tests leave the tree
as they found it. One browser serves the whole module; each test gets a fresh
context (its own cookies).
"""

import csv
import hashlib
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, sync_playwright

from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory
from backoffice.selectors import DASHBOARD_DAYS
from backoffice.tests.factories import days_ago, sale
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from delivery.models import ProductFile
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.services import order_purchase, order_refund
from reconciliation.models import ReconciliationRun
from wallets.models import EntryType, Journal, JournalKind
from wallets.tests.factories import fund_wallet, wallet_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with `apt-get install -y chromium`.")
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio loop in this thread; the ORM calls
        # the tests make between browser steps are ordinary synchronous code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, path: str, email: str) -> None:
    page.goto(path)
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def assert_admin_css_loaded(page: Page) -> None:
    loaded = page.evaluate(
        """() => [...document.styleSheets].some(
            (sheet) => sheet.href && sheet.href.includes("admin/css/base.css") && sheet.cssRules.length > 0)"""
    )
    assert loaded, "the admin stylesheet did not load"


def run_action(page: Page, action: str) -> None:
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")


def refund_sale(page: Page, *, amount: str, reason: str) -> None:
    """Refund the one sale listed through the action's form: `amount` (empty: all that is left) and `reason`."""
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "refund_sales")
    page.click("button[name=index]")
    page.wait_for_selector("#refund_form")
    page.fill("#id_amount", amount)
    page.fill("#id_reason", reason)
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")
    assert "Refunded 1 sale(s)." in page.inner_text("ul.messagelist")


def add_product(page: Page, *, name: str, price: str, units: str, description: str = "", kind: str = "") -> Product:
    """Create a product on the merchants' add form (a delivery kind if given) and return it."""
    page.goto("/merchant/catalog/product/add/")
    page.fill("#id_name", name)
    page.fill("#id_description", description)
    page.fill("#id_price", price)
    page.fill("#id_available_units", units)
    if kind:
        page.select_option("#id_delivery_kind", kind)
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist")
    return Product.objects.get(name=name)


def screenshot(page: Page, name: str) -> None:
    """Save the page as `name` in SCREENSHOTS_DIR, if it is set (`make screenshots`)."""
    if directory := os.environ.get("SCREENSHOTS_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / name))


def test_an_operator_freezes_a_wallet_and_posts_an_adjustment(page):
    operator = UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)
    customer = UserFactory(email="ada@example.com")
    fund_wallet(customer, "100.00")
    shop = MerchantFactory(email="shop@example.com")
    order_purchase(
        buyer=customer,
        product_id=ProductFactory(merchant=shop, name="Field guide", price=Decimal("12.50")).id,
        quantity=2,
        method=PaymentMethod.WALLET,
    )
    now = timezone.now()
    ReconciliationRun.objects.create(started_at=now, finished_at=now, clean=True)

    log_in(page, "/admin/", "operator@example.com")
    assert_admin_css_loaded(page)
    assert page.inner_text("#site-name") == "Payment Flow operations"

    page.goto("/admin/wallets/wallet/?q=ada@example.com")
    run_action(page, "freeze")
    assert "1 wallet(s) frozen." in page.inner_text("ul.messagelist")
    assert wallet_of(customer).is_frozen

    page.click("#result_list a:has-text('Wallet of ada@example.com')")
    page.click("text=Adjust balance")
    page.fill("#id_amount", "-5.00")
    page.fill("#id_reason", "Duplicate delivery fee")
    page.click("input[name=_adjust]")
    page.wait_for_selector("ul.messagelist")
    assert "the balance is now 70.00" in page.inner_text("ul.messagelist")

    wallet = wallet_of(customer)
    assert (wallet.balance, wallet.is_frozen) == (Decimal("70.00"), True)
    journal = Journal.objects.get(kind=JournalKind.ADJUSTMENT)
    assert (journal.created_by, journal.description) == (operator, "Duplicate delivery fee")
    assert journal.entries.get(wallet=wallet).type == EntryType.ADJUSTMENT

    page.goto("/admin/")
    assert page.inner_text("#sales-today .pf-figure") == "1"
    assert page.inner_text("#frozen-wallets .pf-figure") == "1"


def test_a_merchant_creates_a_product_sees_a_sale_and_refunds_it(page):
    merchant = MerchantFactory(email="shop@example.com")
    buyer = UserFactory(email="ada@example.com")
    fund_wallet(buyer, "100.00")

    log_in(page, "/merchant/", "shop@example.com")
    assert_admin_css_loaded(page)
    assert page.inner_text("#site-name") == "Payment Flow merchant"

    product = add_product(
        page,
        name="Field guide to birds",
        description="Every bird of the valley, with calls.",
        price="12.50",
        units="40",
    )
    assert (product.merchant, product.price, product.available_units) == (merchant, Decimal("12.50"), 40)

    order = order_purchase(buyer=buyer, product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    page.goto("/merchant/orders/order/")
    assert "Field guide to birds" in page.inner_text("#result_list")
    refund_sale(page, amount="5.00", reason="One chapter missing")
    order.refresh_from_db()
    assert (order.status, order.refunds.get().reason) == (OrderStatus.PARTIALLY_REFUNDED, "One chapter missing")
    page.goto(f"/merchant/orders/order/{order.id}/change/")
    assert "One chapter missing" in page.inner_text("body")
    page.goto("/merchant/orders/order/")
    refund_sale(page, amount="", reason="")

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert wallet_of(merchant).balance == Decimal("0.00")
    assert wallet_of(buyer).balance == Decimal("100.00")
    assert product.available_units == 40

    order_purchase(buyer=buyer, product_id=product.id, quantity=3, method=PaymentMethod.WALLET)
    page.goto("/merchant/")
    assert page.inner_text("#units-sold .pf-figure") == "3"
    assert page.inner_text("#balance .pf-figure") == "37.50 USD"
    assert Order.objects.filter(merchant=merchant).count() == 2


def month_of_sales(products, buyer) -> list[Order]:
    """Sell `products` over the last 30 days, more on some days than others: a chart with a shape."""
    orders = []
    for days in range(DASHBOARD_DAYS):
        for n in range(1 + (days * 7) % 4):
            product = products[(days + n) % len(products)]
            orders.append(days_ago(sale(product, quantity=1 + (days + n) % 3, buyer=buyer), days, hour=n))
    return orders


def assert_list_fits(page: Page) -> None:
    """Assert the list needs no sideways scrolling at 1280 px and no id breaks over two lines."""
    results = page.evaluate(
        """() => { const box = document.querySelector('.results');
                   return [box.scrollWidth, box.clientWidth, document.documentElement.scrollWidth]; }"""
    )
    columns = page.evaluate(
        "() => [...document.querySelectorAll('#result_list thead th')].map((th) => th.className + ':' + th.offsetWidth)"
    )
    assert results[0] <= results[1] and results[2] <= VIEWPORT["width"], f"the list overflows: {results} {columns}"
    ids = page.locator("#result_list .pf-id")
    assert ids.count() > 0
    assert page.evaluate(
        "() => [...document.querySelectorAll('#result_list .pf-id')].every((id) => id.getClientRects().length === 1)"
    ), "an id wraps"


def filter_dates(page: Page, start, end) -> None:
    page.fill("input[name=created_at__from]", start.isoformat())
    page.fill("input[name=created_at__to]", end.isoformat())
    page.click(".pf-date-range input[type=submit]")
    page.wait_for_selector("#list-totals")


def export_csv(page: Page) -> list[dict]:
    """Click the list's Export CSV button; return the downloaded rows."""
    with page.expect_download() as download:
        page.click("#export-csv")
    with open(download.value.path(), newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_an_operator_reads_the_dashboard_narrows_the_orders_by_date_and_exports_them(page, settings):
    settings.PLATFORM_FEE_PERCENT = Decimal("5")
    operator = UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)
    buyer = UserFactory(email="ada@example.com")
    fund_wallet(buyer, "5000.00")
    products = [
        ProductFactory(
            merchant=MerchantFactory(email="books@example.com"),
            name="Field guide",
            price=Decimal("12.50"),
            available_units=500,
        ),
        ProductFactory(
            merchant=MerchantFactory(email="maps@example.com"),
            name="Valley map",
            price=Decimal("4.20"),
            available_units=500,
        ),
    ]
    orders = month_of_sales(products, buyer)
    refunded = orders[5]
    order_refund(order_id=refunded.id, actor=operator, source=StatusChangeSource.ADMIN)
    now = timezone.now()
    ReconciliationRun.objects.create(started_at=now - timedelta(minutes=5), finished_at=now, clean=True)

    log_in(page, "/admin/", "operator@example.com")
    assert page.locator("#sales-volume-chart svg rect.pf-bar").count() == DASHBOARD_DAYS
    assert page.locator("#sales-count-chart svg rect.pf-bar").count() == DASHBOARD_DAYS
    fees = sum((order.fee_amount for order in orders), Decimal("0.00")) - refunded.fee_amount
    assert page.inner_text("#fee-revenue .pf-figure") == str(fees)
    assert page.inner_text("#refunds .pf-figure") == str(refunded.total_amount)
    assert page.inner_text("#last-reconciliation .pf-figure") == "Clean"
    screenshot(page, "admin-operator.png")

    page.goto("/admin/orders/order/")
    assert_list_fits(page)
    day = orders[-1].created_at.date()
    filter_dates(page, day, day + timedelta(days=2))
    chosen = [order for order in orders if day <= order.created_at.date() <= day + timedelta(days=2)]
    assert page.locator("#result_list tbody tr").count() == len(chosen)
    total = sum((order.total_amount for order in chosen), Decimal("0.00"))
    assert page.inner_text("#list-totals [data-total=Total]") == str(total)
    assert page.inner_text("#list-totals .pf-total-rows") == str(len(chosen))
    assert_list_fits(page)
    screenshot(page, "admin-operator-orders.png")

    rows = export_csv(page)
    assert sorted(row["id"] for row in rows) == sorted(str(order.id) for order in chosen)
    assert sum(Decimal(row["total_amount"]) for row in rows) == total
    page.reload()
    assert f"Exported {len(chosen)} rows" in page.inner_text("ul.messagelist")


def test_a_merchant_reads_its_dashboard_narrows_its_sales_by_date_and_exports_them(page):
    merchant = MerchantFactory(email="shop@example.com")
    buyer = UserFactory(email="ada@example.com")
    fund_wallet(buyer, "5000.00")
    products = [
        ProductFactory(merchant=merchant, name=name, price=Decimal(price), available_units=500)
        for name, price in [("Field guide to birds", "12.50"), ("Valley map", "4.20"), ("Pocket lens", "23.00")]
    ]
    orders = month_of_sales(products, buyer)
    order_refund(order_id=orders[3].id, actor=merchant, amount=Decimal("2.00"), source=StatusChangeSource.ADMIN)
    sale(ProductFactory(name="Someone else's"), buyer=buyer)

    log_in(page, "/merchant/", "shop@example.com")
    assert page.locator("#revenue-chart svg rect.pf-bar").count() == DASHBOARD_DAYS
    assert page.locator("#products-chart svg rect.pf-bar").count() == len(products)
    assert "Field guide to birds" in page.inner_text("#products-chart")
    assert page.inner_text("#balance .pf-figure") == f"{wallet_of(merchant).balance} USD"
    assert page.inner_text("#refunds .pf-figure") == "2.00 USD"
    screenshot(page, "admin-merchant.png")

    page.goto("/merchant/orders/order/")
    assert_list_fits(page)
    assert "ada@example.com" in page.inner_text("#result_list")
    day = orders[-1].created_at.date()
    filter_dates(page, day, day)
    chosen = [order for order in orders if order.created_at.date() == day]
    assert page.locator("#result_list tbody tr").count() == len(chosen)
    total = sum((order.total_amount for order in chosen), Decimal("0.00"))
    assert page.inner_text("#list-totals [data-total=Total]") == str(total)

    rows = export_csv(page)
    assert sorted(row["id"] for row in rows) == sorted(str(order.id) for order in chosen)
    assert {row["buyer_email"] for row in rows} == {"ada@example.com"}
    page.reload()
    assert f"Exported {len(chosen)} row" in page.inner_text("ul.messagelist")


def test_a_merchant_uploads_codes_and_a_file_and_sees_which_codes_went_to_which_order(page):
    MerchantFactory(email="shop@example.com")
    buyer = UserFactory(email="ada@example.com")
    fund_wallet(buyer, "100.00")
    log_in(page, "/merchant/", "shop@example.com")

    # A CODES product, created with no stock: its codes are its stock.
    keys = add_product(page, name="Licence keys", price="9.00", units="0", kind="CODES")

    page.goto("/merchant/delivery/code/")
    page.click("#upload-codes")
    page.select_option("#id_product", str(keys.id))
    page.fill("#id_codes", "KEY-AAAA-1111\nKEY-BBBB-2222\nKEY-CCCC-3333\nKEY-AAAA-1111")
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")
    assert "added 3 code(s), skipped 1 duplicate(s); 3 available" in page.inner_text("ul.messagelist")

    order = order_purchase(buyer=buyer, product_id=keys.id, quantity=1, method=PaymentMethod.WALLET)
    page.goto("/merchant/delivery/code/")
    listed = page.inner_text("#result_list")
    assert "KEY-" not in listed
    assert listed.count("…") == 3
    page.click(f"#result_list a:has-text('{order.id}')")
    page.wait_for_selector("#content-main")
    assert page.url.endswith(f"/merchant/orders/order/{order.id}/change/")

    # A FILE product: its page links to its file, where the merchant uploads it.
    recordings = add_product(page, name="Field recordings", price="4.00", units="100", kind="FILE")
    page.goto(f"/merchant/catalog/product/{recordings.id}/change/")
    page.click("#product-file-link")
    page.set_input_files("#id_file", {"name": "dawn.flac", "mimeType": "audio/flac", "buffer": b"fLaC" * 1000})
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")
    assert "the file is now dawn.flac" in page.inner_text("ul.messagelist")
    stored = ProductFile.objects.get(product=recordings)
    assert (stored.size, stored.sha256) == (4000, hashlib.sha256(b"fLaC" * 1000).hexdigest())
    assert stored.sha256 in page.inner_text("#delivery-details")
    screenshot(page, "admin-merchant-file.png")
