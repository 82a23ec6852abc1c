"""Checks that tie orders to the ledger and to stock, run by `manage.py reconcile`.

Same rules as `wallets.reconciliation`: one set-based statement per check,
only a count and the first few offending ids come back, nothing is written.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import status

from core import gateway
from core.money import to_minor_units
from orders.models import UNIT_HOLDING_STATUSES, Order, OrderStatus, PaymentMethod
from wallets.models import SYSTEM_WALLET_IDS, EntryType, JournalKind, WalletKind
from wallets.reconciliation import (
    EXAMPLE_LIMIT,
    Check,
    CheckResult,
    offenders,
    sql_cents,
    sql_datetime,
    sql_uuid,
)

GATEWAY_PAGE_SIZE = 500

# Refunds that have returned, or are returning, the money; failed and canceled ones have not.
_REFUND_LIVE_STATUSES = ("succeeded", "pending", "requires_action")


def check_order_journals(*, since: datetime | None = None) -> CheckResult:
    """Orders whose journals are not exactly the ones their status implies, with the right amounts.

    A paid (COMPLETED or REFUNDED) order has one PURCHASE journal: the payer
    (the buyer's wallet, or gateway clearing for a card) gives the total, the
    merchant gets total - fee, the platform the fee (no leg for a zero fee or
    a zero merchant share). A REFUNDED one also has a REFUND journal with every
    leg reversed. PENDING, FAILED and EXPIRED orders have no journal at all.

    Per order, every leg of every journal naming it is counted against each
    expected leg (journal kind, wallet, entry type, amount): each expected leg
    must be matched exactly once and there must be no other leg, so a missing,
    extra, duplicated or wrong leg flags the order; so does a leg whose own
    order_id disagrees with its journal's, and a journal naming an order that
    does not exist (that order id is reported). With `since`, the orders
    created since and those with a journal written since are checked.
    """
    if since:
        order_scope = (
            "WHERE o.created_at >= %(since)s OR o.id IN "
            "(SELECT order_id FROM wallets_journal WHERE created_at >= %(since)s AND order_id IS NOT NULL)"
        )
        orphan_scope = "AND j.created_at >= %(since)s"
    else:
        order_scope = orphan_scope = ""

    def legs_matching(kind: str, entry_type: str, wallet: str, amount: str) -> str:
        return (
            f"COUNT(*) FILTER (WHERE j.kind = %({kind})s AND e.type = %({entry_type})s AND e.wallet_id = {wallet} "
            f"AND {sql_cents('e.amount')} = {sql_cents(amount)})"
        )

    payer_paid = legs_matching("purchase_kind", "purchase_type", "o.payer_wallet_id", "-o.total_amount")
    merchant_paid = legs_matching("purchase_kind", "sale_type", "o.merchant_wallet_id", "o.total_amount - o.fee_amount")
    fee_paid = legs_matching("purchase_kind", "fee_type", "%(platform_wallet)s", "o.fee_amount")
    payer_refunded = legs_matching("refund_kind", "refund_type", "o.payer_wallet_id", "o.total_amount")
    merchant_refunded = legs_matching(
        "refund_kind", "sale_reversal_type", "o.merchant_wallet_id", "o.fee_amount - o.total_amount"
    )
    fee_refunded = legs_matching("refund_kind", "fee_reversal_type", "%(platform_wallet)s", "-o.fee_amount")
    sql = f"""
        WITH scoped_orders AS (
            SELECT
                o.id, o.total_amount, o.fee_amount,
                CASE WHEN o.payment_method = %(gateway)s THEN %(clearing_wallet)s ELSE buyer_wallet.id END
                    AS payer_wallet_id,
                merchant_wallet.id AS merchant_wallet_id,
                CASE WHEN o.status IN (%(completed)s, %(refunded)s) THEN 1 ELSE 0 END AS paid,
                CASE WHEN o.status = %(refunded)s THEN 1 ELSE 0 END AS refunded,
                CASE WHEN o.total_amount > o.fee_amount THEN 1 ELSE 0 END AS has_share,
                CASE WHEN o.fee_amount > 0 THEN 1 ELSE 0 END AS has_fee
            FROM orders_order o
            LEFT JOIN wallets_wallet buyer_wallet
                ON buyer_wallet.user_id = o.buyer_id AND buyer_wallet.kind = %(user_kind)s
            LEFT JOIN wallets_wallet merchant_wallet
                ON merchant_wallet.user_id = o.merchant_id AND merchant_wallet.kind = %(user_kind)s
            {order_scope}
        ),
        counted AS (
            SELECT
                o.id, o.paid, o.refunded, o.has_share, o.has_fee,
                COUNT(e.id) AS legs,
                COUNT(*) FILTER (WHERE e.order_id IS DISTINCT FROM j.order_id) AS mislabelled,
                {payer_paid} AS payer_paid,
                {merchant_paid} AS merchant_paid,
                {fee_paid} AS fee_paid,
                {payer_refunded} AS payer_refunded,
                {merchant_refunded} AS merchant_refunded,
                {fee_refunded} AS fee_refunded
            FROM scoped_orders o
            LEFT JOIN wallets_journal j ON j.order_id = o.id
            LEFT JOIN wallets_ledgerentry e ON e.journal_id = j.id
            GROUP BY o.id, o.paid, o.refunded, o.has_share, o.has_fee
        )
        SELECT id AS offender_id FROM counted
        WHERE mislabelled > 0
            OR legs <> (paid + refunded) * (1 + has_share + has_fee)
            OR payer_paid <> paid OR merchant_paid <> paid * has_share OR fee_paid <> paid * has_fee
            OR payer_refunded <> refunded OR merchant_refunded <> refunded * has_share
            OR fee_refunded <> refunded * has_fee
        UNION
        SELECT j.order_id FROM wallets_journal j
        WHERE j.order_id IS NOT NULL {orphan_scope}
            AND NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = j.order_id)
    """
    params: dict[str, Any] = {
        "user_kind": WalletKind.USER,
        "completed": OrderStatus.COMPLETED,
        "refunded": OrderStatus.REFUNDED,
        "gateway": PaymentMethod.GATEWAY,
        "clearing_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.GATEWAY_CLEARING]),
        "platform_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE]),
        "purchase_kind": JournalKind.PURCHASE,
        "refund_kind": JournalKind.REFUND,
        "purchase_type": EntryType.PURCHASE,
        "sale_type": EntryType.SALE,
        "fee_type": EntryType.FEE,
        "refund_type": EntryType.REFUND,
        "sale_reversal_type": EntryType.SALE_REVERSAL,
        "fee_reversal_type": EntryType.FEE_REVERSAL,
    }
    if since:
        params["since"] = sql_datetime(since)
    return offenders(name="order_journals", entity="order", sql=sql, params=params)


def check_product_stock(*, since: datetime | None = None) -> CheckResult:
    """Products whose available units are not units supplied minus the units held by live orders.

    Live orders are PENDING (a card payment's reservation) and COMPLETED ones;
    failed, expired and refunded orders gave their units back. Every product,
    whatever `since` is: stock is a running total like a balance.
    """
    sql = """
        SELECT p.id AS offender_id
        FROM catalog_product p
        LEFT JOIN (
            SELECT product_id, SUM(quantity) AS held
            FROM orders_order
            WHERE status IN (%(pending)s, %(completed)s)
            GROUP BY product_id
        ) live ON live.product_id = p.id
        WHERE p.available_units <> p.units_supplied - COALESCE(live.held, 0)
    """
    pending, completed = UNIT_HOLDING_STATUSES
    return offenders(
        name="product_stock", entity="product", sql=sql, params={"pending": pending, "completed": completed}
    )


# How long past its expiry a PENDING order may wait for `expire_orders` (cron,
# every minute), or for the webhook of a payment already in flight, before it counts.
STALE_PENDING_GRACE = timedelta(minutes=10)


def check_stale_pending_orders(*, since: datetime | None = None) -> CheckResult:
    """PENDING orders expired more than STALE_PENDING_GRACE ago (or with no expiry): nothing ended them.

    Every pending order, whatever `since` is (it reads the partial index of pending orders).
    """
    sql = """
        SELECT id AS offender_id
        FROM orders_order
        WHERE status = %(pending)s AND (expires_at IS NULL OR expires_at <= %(now)s)
    """
    return offenders(
        name="stale_pending_orders",
        entity="order",
        sql=sql,
        params={"pending": OrderStatus.PENDING, "now": sql_datetime(timezone.now() - STALE_PENDING_GRACE)},
    )


ORDER_CHECKS: tuple[Check, ...] = (
    Check(
        name="order_journals",
        entity="order",
        description="completed/refunded orders have exactly the journals their status implies; others none",
        windowed=True,
        run=check_order_journals,
    ),
    Check(
        name="product_stock",
        entity="product",
        description="available units = units supplied - units held by PENDING and COMPLETED orders",
        windowed=False,
        run=check_product_stock,
    ),
    Check(
        name="stale_pending_orders",
        entity="order",
        description="no PENDING order is more than 10 minutes past its expiry",
        windowed=False,
        run=check_stale_pending_orders,
    ),
)


def _refunded_minor(*, payment_intent_id: str) -> int:
    """Return how much Stripe has refunded (or is refunding) of a PaymentIntent, in minor units."""
    refunds = gateway.refund_list(payment_intent_id=payment_intent_id)
    return sum(refund.amount_minor for refund in refunds if refund.status in _REFUND_LIVE_STATUSES)


def _gateway_discrepancy(*, order_status: str, payment_intent_id: str | None, total, currency: str) -> str | None:
    """Return why Stripe does not back this card order, or None when it does."""
    unpaid_here = order_status in (OrderStatus.FAILED, OrderStatus.EXPIRED)
    if not payment_intent_id:
        return None if unpaid_here else "no PaymentIntent id"
    try:
        intent = gateway.payment_intent_retrieve(payment_intent_id=payment_intent_id)
    except gateway.GatewayError as exc:
        if exc.http_status == status.HTTP_404_NOT_FOUND:
            return None if unpaid_here else "PaymentIntent not found"
        raise
    if unpaid_here:
        # The order gave its units back: money Stripe took for it must have gone back too.
        if intent.status == "succeeded" and _refunded_minor(payment_intent_id=payment_intent_id) < intent.amount_minor:
            return f"paid in Stripe but {order_status.lower()} here, not refunded"
        return None
    if intent.status != "succeeded":
        return f"PaymentIntent {intent.status}"
    if intent.amount_minor != to_minor_units(total) or intent.currency.lower() != currency.lower():
        return "amount or currency differs"
    refunded = _refunded_minor(payment_intent_id=payment_intent_id)
    if order_status == OrderStatus.REFUNDED and refunded != intent.amount_minor:
        return "refund missing or partial"
    if order_status == OrderStatus.COMPLETED and refunded:
        return "refunded in Stripe but COMPLETED here"
    return None


def _in_pages(orders: QuerySet[Order]) -> Iterator[tuple]:
    """Yield (id, status, payment_intent_id, total_amount, currency) by id, one page in memory at a time.

    Keyset pages rather than a server-side cursor: no cursor or transaction
    stays open across the Stripe calls, and an error half-way leaves nothing behind.
    """
    page = orders.order_by("id").values_list("id", "status", "payment_intent_id", "total_amount", "currency")
    last_id = None
    while True:
        rows = list((page.filter(id__gt=last_id) if last_id else page)[:GATEWAY_PAGE_SIZE])
        yield from rows
        if len(rows) < GATEWAY_PAGE_SIZE:
            return
        last_id = rows[-1][0]


def check_gateway_payments(*, since: datetime | None = None) -> CheckResult:
    """Card orders that Stripe does not back: COMPLETED ones need a `succeeded` PaymentIntent of the same
    amount and currency and no refund, REFUNDED ones refunds covering the whole amount, and FAILED or
    EXPIRED ones whose intent was paid anyway (a late payment) a full refund.

    The one check that is not a single statement: each order means a call to
    Stripe (two for a refunded one). The orders are read in pages of
    GATEWAY_PAGE_SIZE and only counters and the first ids are kept, so memory
    stays flat; the time grows with the number of card orders, which `since`
    bounds (orders created or changed since). Raises GatewayUnavailable
    without Stripe keys and GatewayError when Stripe cannot be reached: then
    nothing can be concluded.
    """
    orders = Order.objects.filter(payment_method=PaymentMethod.GATEWAY).exclude(status=OrderStatus.PENDING)
    if since:
        orders = orders.filter(Q(created_at__gte=since) | Q(updated_at__gte=since))
    count, examples, reasons = 0, [], Counter()
    for order_id, order_status, payment_intent_id, total, currency in _in_pages(orders):
        reason = _gateway_discrepancy(
            order_status=order_status, payment_intent_id=payment_intent_id, total=total, currency=currency
        )
        if reason:
            count += 1
            reasons[reason] += 1
            if len(examples) < EXAMPLE_LIMIT:
                examples.append(str(order_id))
    detail = "; ".join(f"{reason}: {number}" for reason, number in sorted(reasons.items()))
    return CheckResult(name="gateway_payments", entity="order", count=count, examples=tuple(examples), detail=detail)


GATEWAY_CHECK = Check(
    name="gateway_payments",
    entity="order",
    description="card orders agree with Stripe: paid (same amount) when completed, refunded when refunded, "
    "never paid-and-kept when failed or expired",
    windowed=True,
    run=check_gateway_payments,
)
