"""The checks that tie orders to the ledger and to stock.

Same rules as the ledger checks (`reconciliation.checks.base`): one set-based
statement per check, only a count and the first few offending ids come back,
nothing is written.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from datetime import datetime, timedelta

from django.utils import timezone

from orders.models import UNIT_HOLDING_STATUSES, OrderStatus, PaymentMethod
from reconciliation.checks.base import Findings, check, offenders, sql_cents, sql_datetime, sql_uuid
from wallets.models import SYSTEM_WALLET_IDS, WalletKind


@check(
    name="order_journals",
    entity="order",
    description="completed/refunded orders have exactly the journals their status implies; others none",
    windowed=True,
)
def check_order_journals(*, since: datetime | None = None) -> Findings:
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
    params = {
        "completed": OrderStatus.COMPLETED,
        "refunded": OrderStatus.REFUNDED,
        "gateway": PaymentMethod.GATEWAY,
        "clearing_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.GATEWAY_CLEARING]),
        "platform_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE]),
    }
    return offenders(sql=sql, since=since, params=params)


@check(
    name="product_stock",
    entity="product",
    description="available units = units supplied - units held by PENDING and COMPLETED orders",
    windowed=False,
)
def check_product_stock(*, since: datetime | None = None) -> Findings:
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
    return offenders(sql=sql, params={"pending": pending, "completed": completed})


# How long past its expiry a PENDING order may wait for `expire_orders` (cron,
# every minute), or for the webhook of a payment already in flight, before it counts.
STALE_PENDING_GRACE = timedelta(minutes=10)


@check(
    name="stale_pending_orders",
    entity="order",
    description=f"no PENDING order is more than {STALE_PENDING_GRACE // timedelta(minutes=1)} minutes past its expiry",
    windowed=False,
)
def check_stale_pending_orders(*, since: datetime | None = None) -> Findings:
    """PENDING orders expired more than STALE_PENDING_GRACE ago (or with no expiry): nothing ended them.

    Every pending order, whatever `since` is (it reads the partial index of pending orders).
    """
    sql = """
        SELECT id AS offender_id
        FROM orders_order
        WHERE status = %(pending)s AND (expires_at IS NULL OR expires_at <= %(now)s)
    """
    return offenders(
        sql=sql, params={"pending": OrderStatus.PENDING, "now": sql_datetime(timezone.now() - STALE_PENDING_GRACE)}
    )
