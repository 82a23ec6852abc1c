"""The figures on the two back office index pages: a few aggregate queries each, whatever the number of rows.

Money is summed with `MoneySum` (a Decimal to the cent on PostgreSQL and
SQLite alike) and days are UTC days (`TruncDate` in UTC on both databases).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from core.money import MoneySum
from orders.models import (
    PAID_STATUSES,
    Order,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundKind,
    RefundStatus,
    WebhookEvent,
    WebhookOutcome,
)
from reconciliation.models import ReconciliationRun
from reconciliation.selectors import reconciliation_run_latest
from wallets.models import SYSTEM_WALLET_IDS, LedgerEntry, Wallet, WalletKind

# The dashboards' window: the last 30 UTC days, today included.
DASHBOARD_DAYS = 30


@dataclass(frozen=True)
class DayTotal:
    day: date
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ProductTotal:
    product_id: object
    name: str
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class OperatorDashboard:
    sales_today_count: int
    sales_today_volume: Decimal
    pending_gateway_orders: int
    failed_webhook_events: int
    frozen_wallets: int
    last_reconciliation: ReconciliationRun | None
    window_start: date
    # Paid orders per day of the window, oldest first, a row for every day.
    sales_per_day: list[DayTotal]
    fee_revenue: Decimal
    refund_count: int
    refund_amount: Decimal


@dataclass(frozen=True)
class MerchantSummary:
    month_start: datetime
    units_sold: int
    revenue: Decimal
    net_revenue: Decimal
    balance: Decimal
    currency: str
    window_start: date
    revenue_per_day: list[DayTotal]
    # The window's best sellers by revenue, at most `TOP_PRODUCTS`.
    products: list[ProductTotal]
    refund_count: int
    refund_amount: Decimal


TOP_PRODUCTS = 10


def _start_of_today() -> datetime:
    now = timezone.localtime()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _window_start() -> datetime:
    """Return midnight UTC at the start of the window's first day."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=DASHBOARD_DAYS - 1)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def _per_day(orders, *, start: datetime, amount) -> list[DayTotal]:
    """Return the orders' count and `amount` summed per UTC day from `start` to today, zeros on quiet days."""
    rows = (
        orders.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("id"), amount=MoneySum(amount))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    days = [start.date() + timedelta(days=n) for n in range(DASHBOARD_DAYS)]
    zero = {"count": 0, "amount": Decimal("0.00")}
    return [DayTotal(day, by_day.get(day, zero)["count"], by_day.get(day, zero)["amount"]) for day in days]


def _refunds(refunds, *, start: datetime) -> dict:
    """Return the count and amount of the succeeded sale refunds made since `start`."""
    return refunds.filter(kind=RefundKind.SALE, status=RefundStatus.SUCCEEDED, created_at__gte=start).aggregate(
        count=Count("id"), amount=MoneySum("amount")
    )


def operator_dashboard() -> OperatorDashboard:
    """Return what a payments operator checks first: today's and the month's sales and what needs attention."""
    # A sale today is an order paid today and not refunded since (so the figure is money kept).
    sales = Order.objects.filter(status=OrderStatus.COMPLETED, created_at__gte=_start_of_today()).aggregate(
        count=Count("id"), volume=MoneySum("total_amount")
    )
    start = _window_start()
    refunds = _refunds(Refund.objects.all(), start=start)
    # Fees net of the fee reversals of refunds: what the platform revenue account gained.
    fees = LedgerEntry.objects.filter(
        wallet_id=SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE], created_at__gte=start
    ).aggregate(total=MoneySum("amount"))
    return OperatorDashboard(
        sales_today_count=sales["count"],
        sales_today_volume=sales["volume"],
        pending_gateway_orders=Order.objects.filter(
            status=OrderStatus.PENDING, payment_method=PaymentMethod.GATEWAY
        ).count(),
        failed_webhook_events=WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED).count(),
        frozen_wallets=Wallet.objects.filter(kind=WalletKind.USER, is_frozen=True).count(),
        last_reconciliation=reconciliation_run_latest(),
        window_start=start.date(),
        sales_per_day=_per_day(Order.objects.filter(status__in=PAID_STATUSES), start=start, amount="total_amount"),
        fee_revenue=fees["total"],
        refund_count=refunds["count"],
        refund_amount=refunds["amount"],
    )


def merchant_summary(*, merchant) -> MerchantSummary:
    """Return a merchant's month so far (completed sales), its last 30 days per day and product, and its balance."""
    month_start = _start_of_today().replace(day=1)
    sales = Order.objects.filter(
        merchant=merchant, status=OrderStatus.COMPLETED, created_at__gte=month_start
    ).aggregate(
        units=Coalesce(Sum("quantity"), 0),
        revenue=MoneySum("total_amount"),
        net=MoneySum(F("total_amount") - F("fee_amount")),
    )
    start = _window_start()
    paid = Order.objects.filter(merchant=merchant, status__in=PAID_STATUSES)
    products = (
        paid.filter(created_at__gte=start)
        .values("product_id")
        .annotate(name=Max("product_name"), units=Sum("quantity"), revenue=MoneySum("total_amount"))
        .order_by("-revenue", "name")[:TOP_PRODUCTS]
    )
    refunds = _refunds(Refund.objects.filter(order__merchant=merchant), start=start)
    wallet = Wallet.objects.only("balance", "currency").get(user=merchant, kind=WalletKind.USER)
    return MerchantSummary(
        month_start=month_start,
        units_sold=sales["units"],
        revenue=sales["revenue"],
        net_revenue=sales["net"],
        balance=wallet.balance,
        currency=wallet.currency,
        window_start=start.date(),
        revenue_per_day=_per_day(paid, start=start, amount="total_amount"),
        products=[ProductTotal(row["product_id"], row["name"], row["units"], row["revenue"]) for row in products],
        refund_count=refunds["count"],
        refund_amount=refunds["amount"],
    )
