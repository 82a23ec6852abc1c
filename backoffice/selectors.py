"""The figures on the two back office index pages: a few aggregate queries each."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.money import MoneySum
from orders.models import Order, OrderStatus, PaymentMethod, WebhookEvent, WebhookOutcome
from reconciliation.models import ReconciliationRun
from reconciliation.selectors import reconciliation_run_latest
from wallets.models import Wallet, WalletKind


@dataclass(frozen=True)
class OperatorDashboard:
    sales_today_count: int
    sales_today_volume: Decimal
    pending_gateway_orders: int
    failed_webhook_events: int
    frozen_wallets: int
    last_reconciliation: ReconciliationRun | None


@dataclass(frozen=True)
class MerchantSummary:
    month_start: datetime
    units_sold: int
    revenue: Decimal
    net_revenue: Decimal
    balance: Decimal
    currency: str


def _start_of_today() -> datetime:
    now = timezone.localtime()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def operator_dashboard() -> OperatorDashboard:
    """Return what a payments operator checks first: today's sales and what needs attention."""
    # A sale is an order paid today and not refunded since (so the figure is money kept).
    sales = Order.objects.filter(status=OrderStatus.COMPLETED, created_at__gte=_start_of_today()).aggregate(
        count=Count("id"), volume=MoneySum("total_amount")
    )
    return OperatorDashboard(
        sales_today_count=sales["count"],
        sales_today_volume=sales["volume"],
        pending_gateway_orders=Order.objects.filter(
            status=OrderStatus.PENDING, payment_method=PaymentMethod.GATEWAY
        ).count(),
        failed_webhook_events=WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED).count(),
        frozen_wallets=Wallet.objects.filter(kind=WalletKind.USER, is_frozen=True).count(),
        last_reconciliation=reconciliation_run_latest(),
    )


def merchant_summary(*, merchant) -> MerchantSummary:
    """Return a merchant's month so far (completed sales) and current wallet balance."""
    month_start = _start_of_today().replace(day=1)
    sales = Order.objects.filter(
        merchant=merchant, status=OrderStatus.COMPLETED, created_at__gte=month_start
    ).aggregate(
        units=Coalesce(Sum("quantity"), 0),
        revenue=MoneySum("total_amount"),
        net=MoneySum(F("total_amount") - F("fee_amount")),
    )
    wallet = Wallet.objects.only("balance", "currency").get(user=merchant, kind=WalletKind.USER)
    return MerchantSummary(
        month_start=month_start,
        units_sold=sales["units"],
        revenue=sales["revenue"],
        net_revenue=sales["net"],
        balance=wallet.balance,
        currency=wallet.currency,
    )
