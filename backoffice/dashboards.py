"""What each back office's index shows: its figures, in the order they appear, and its charts' data.

Each figure is one `Figure` in the list its function returns; a new one (a
count from another app, say) is one more line there: its value from a
selector, its link to the page where it is dealt with.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.timesince import timesince

from backoffice.selectors import MerchantSummary, OperatorDashboard


@dataclass(frozen=True)
class Figure:
    """One box of a dashboard: `key` is its HTML id, `alert` paints the figure red."""

    key: str
    title: str
    value: object
    note: str = ""
    url: str = ""
    alert: bool = False


def counted(count: int, noun: str) -> str:
    """Return "1 refund", "3 refunds"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _admin(name: str, *args, site: str, query: str = "") -> str:
    url = reverse(f"admin:{name}", args=args, current_app=site)
    return f"{url}?{query}" if query else url


def operator_figures(dashboard: OperatorDashboard, *, site: str) -> list[Figure]:
    """Return the operators' figures: today's sales, the window's money, then what needs attention."""
    run = dashboard.last_reconciliation
    since = f"since {dashboard.window_start:%-d %b}"
    return [
        Figure(
            "sales-today",
            "Sales today",
            dashboard.sales_today_count,
            f"completed orders, {dashboard.sales_today_volume} in volume",
        ),
        Figure(
            "fee-revenue",
            "Fee revenue",
            dashboard.fee_revenue,
            f"{since}, net of refunded fees",
            _admin("wallets_wallet_changelist", site=site, query="kind__exact=PLATFORM_REVENUE"),
        ),
        Figure(
            "refunds",
            "Refunds",
            dashboard.refund_amount,
            f"{counted(dashboard.refund_count, 'refund')} {since}",
            _admin("orders_order_changelist", site=site, query="status__exact=REFUNDED"),
        ),
        Figure(
            "pending-gateway",
            "Pending card payments",
            dashboard.pending_gateway_orders,
            "gateway orders awaiting payment",
            _admin("orders_order_changelist", site=site, query="status__exact=PENDING&payment_method__exact=GATEWAY"),
        ),
        Figure(
            "failed-webhooks",
            "Failed webhook events",
            dashboard.failed_webhook_events,
            "to check and reprocess",
            _admin("orders_webhookevent_changelist", site=site, query="outcome__exact=FAILED"),
            alert=dashboard.failed_webhook_events > 0,
        ),
        Figure(
            "frozen-wallets",
            "Frozen wallets",
            dashboard.frozen_wallets,
            "user wallets on hold",
            _admin("wallets_wallet_changelist", site=site, query="is_frozen__exact=1"),
        ),
        _reconciliation_figure(run, site=site),
    ]


def _reconciliation_figure(run, *, site: str) -> Figure:
    if run is None:
        return Figure(
            "last-reconciliation", "Last reconciliation", "Never run", "manage.py reconcile records its runs here"
        )
    count = run.discrepancy_count
    value = "Clean" if run.clean else f"{count} discrepanc{'y' if count == 1 else 'ies'}"
    note = f"finished {timesince(run.finished_at)} ago" if run.finished_at else "still running"
    url = _admin("reconciliation_reconciliationrun_change", run.pk, site=site)
    return Figure("last-reconciliation", "Last reconciliation", value, note, url, alert=not run.clean)


def merchant_figures(summary: MerchantSummary, *, site: str) -> list[Figure]:
    """Return the merchants' figures: the month's sales, the window's refunds, the balance."""
    currency = summary.currency
    return [
        Figure("units-sold", "Units sold", summary.units_sold, f"since {summary.month_start:%-d %B}, completed sales"),
        Figure(
            "revenue",
            "Revenue this month",
            f"{summary.revenue} {currency}",
            f"{summary.net_revenue} after platform fees",
        ),
        Figure(
            "refunds",
            "Refunds",
            f"{summary.refund_amount} {currency}",
            f"{counted(summary.refund_count, 'refund')} since {summary.window_start:%-d %b}",
            _admin("orders_order_changelist", site=site, query="status__exact=REFUNDED"),
        ),
        Figure(
            "balance",
            "Wallet balance",
            f"{summary.balance} {currency}",
            "see the ledger",
            _admin("wallets_ledgerentry_changelist", site=site),
        ),
    ]
