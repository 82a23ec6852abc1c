"""The checks that tie orders to the ledger and to stock.

Same rules as the ledger checks (`reconciliation.checks.base`): one set-based
statement per check, only a count and the first few offending ids come back,
nothing is written.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from datetime import datetime, timedelta

from django.utils import timezone

from orders.models import UNIT_HOLDING_STATUSES, OrderStatus, PaymentMethod, RefundKind, RefundStatus
from reconciliation.checks.base import Findings, check, offenders, sql_cents, sql_datetime, sql_uuid
from wallets.models import SYSTEM_WALLET_IDS, WalletKind


@check(
    name="order_journals",
    entity="order",
    description="paid orders have their sale journal and a refund journal per succeeded refund, and a status "
    "their refunds bear out; others no journal",
    windowed=True,
)
def check_order_journals(*, since: datetime | None = None) -> Findings:
    """Orders whose journals are not exactly the ones their status and refunds imply, with the right amounts.

    A paid (COMPLETED, PARTIALLY_REFUNDED or REFUNDED) order has one PURCHASE journal: the payer
    (the buyer's wallet, or gateway clearing for a card) gives the total, the
    merchant gets total - fee, the platform the fee (no leg for a zero fee or
    a zero merchant share); each expected leg is matched exactly once. Each
    SUCCEEDED refund of the sale has one REFUND journal, and together they give
    the payer back the refunds' amounts, take their shares from the merchant
    (or, for what its balance could not cover, from the receivables account)
    and their fees from the platform; no other leg. A REFUNDED order's refunds
    cover its total, a PARTIALLY_REFUNDED one's part of it, a COMPLETED one has none. PENDING, FAILED and EXPIRED
    orders have no journal at all. A leg whose own order_id disagrees with its
    journal's flags the order, and a journal naming an order that does not
    exist is reported by that order id. With `since`, the orders created since
    and those with a journal written since are checked.
    """
    if since:
        order_scope = (
            "WHERE o.created_at >= %(since)s OR o.id IN "
            "(SELECT order_id FROM wallets_journal WHERE created_at >= %(since)s AND order_id IS NOT NULL)"
        )
        orphan_scope = "AND j.created_at >= %(since)s"
    else:
        order_scope = orphan_scope = ""

    def purchase_legs(entry_type: str, wallet: str, amount: str) -> str:
        return (
            f"COUNT(*) FILTER (WHERE j.kind = %(purchase_kind)s AND e.type = %({entry_type})s "
            f"AND e.wallet_id = {wallet} AND {sql_cents('e.amount')} = {sql_cents(amount)})"
        )

    refund_categories = {
        "payer": "e.type = %(refund_type)s AND e.wallet_id = o.payer_wallet_id",
        "merchant": "e.type = %(sale_reversal_type)s AND e.wallet_id IN (o.merchant_wallet_id, %(receivables_wallet)s)",
        "fee": "e.type = %(fee_reversal_type)s AND e.wallet_id = %(platform_wallet)s",
    }

    def refund_sum(category: str) -> str:
        return f"COALESCE(SUM(e.amount) FILTER (WHERE j.kind = %(refund_kind)s AND {refund_categories[category]}), 0)"

    known_refund_leg = " OR ".join(f"({condition})" for condition in refund_categories.values())
    sql = f"""
        WITH refunded AS (
            SELECT order_id, COUNT(*) AS refunds, SUM(amount) AS amount, SUM(fee_amount) AS fee
            FROM orders_refund
            WHERE status = %(refund_succeeded)s AND kind = %(sale_refund)s
            GROUP BY order_id
        ),
        scoped_orders AS (
            SELECT
                o.id, o.status, o.total_amount, o.fee_amount,
                CASE WHEN o.payment_method = %(gateway)s THEN %(clearing_wallet)s ELSE buyer_wallet.id END
                    AS payer_wallet_id,
                merchant_wallet.id AS merchant_wallet_id,
                CASE WHEN o.status IN (%(completed)s, %(partially_refunded)s, %(refunded)s) THEN 1 ELSE 0 END AS paid,
                CASE WHEN o.total_amount > o.fee_amount THEN 1 ELSE 0 END AS has_share,
                CASE WHEN o.fee_amount > 0 THEN 1 ELSE 0 END AS has_fee,
                COALESCE(r.refunds, 0) AS refunds,
                COALESCE(r.amount, 0) AS refunded_amount,
                COALESCE(r.fee, 0) AS refunded_fee
            FROM orders_order o
            LEFT JOIN wallets_wallet buyer_wallet
                ON buyer_wallet.user_id = o.buyer_id AND buyer_wallet.kind = %(user_kind)s
            LEFT JOIN wallets_wallet merchant_wallet
                ON merchant_wallet.user_id = o.merchant_id AND merchant_wallet.kind = %(user_kind)s
            LEFT JOIN refunded r ON r.order_id = o.id
            {order_scope}
        ),
        counted AS (
            SELECT
                o.id, o.status, o.total_amount, o.paid, o.has_share, o.has_fee,
                o.refunds, o.refunded_amount, o.refunded_fee,
                COUNT(*) FILTER (WHERE e.order_id IS DISTINCT FROM j.order_id) AS mislabelled,
                COUNT(DISTINCT j.id) FILTER (WHERE j.kind = %(purchase_kind)s) AS purchase_journals,
                COUNT(DISTINCT j.id) FILTER (WHERE j.kind = %(refund_kind)s) AS refund_journals,
                COUNT(DISTINCT j.id) FILTER (WHERE j.kind NOT IN (%(purchase_kind)s, %(refund_kind)s))
                    AS other_journals,
                COUNT(e.id) FILTER (WHERE j.kind = %(purchase_kind)s) AS purchase_legs,
                {purchase_legs("purchase_type", "o.payer_wallet_id", "-o.total_amount")} AS payer_paid,
                {purchase_legs("sale_type", "o.merchant_wallet_id", "o.total_amount - o.fee_amount")}
                    AS merchant_paid,
                {purchase_legs("fee_type", "%(platform_wallet)s", "o.fee_amount")} AS fee_paid,
                COUNT(e.id) FILTER (WHERE j.kind = %(refund_kind)s AND NOT ({known_refund_leg})) AS stray_refund_legs,
                {refund_sum("payer")} AS payer_refunded,
                {refund_sum("merchant")} AS merchant_refunded,
                {refund_sum("fee")} AS fee_refunded
            FROM scoped_orders o
            LEFT JOIN wallets_journal j ON j.order_id = o.id
            LEFT JOIN wallets_ledgerentry e ON e.journal_id = j.id
            GROUP BY o.id, o.status, o.total_amount, o.paid, o.has_share, o.has_fee,
                o.refunds, o.refunded_amount, o.refunded_fee
        )
        SELECT id AS offender_id FROM counted
        WHERE mislabelled > 0 OR other_journals > 0
            OR purchase_journals <> paid
            OR purchase_legs <> paid * (1 + has_share + has_fee)
            OR payer_paid <> paid OR merchant_paid <> paid * has_share OR fee_paid <> paid * has_fee
            OR refund_journals <> refunds OR stray_refund_legs > 0 OR (refunds > 0 AND paid = 0)
            OR {sql_cents("payer_refunded")} <> {sql_cents("refunded_amount")}
            OR {sql_cents("merchant_refunded")} <> {sql_cents("refunded_fee - refunded_amount")}
            OR {sql_cents("fee_refunded")} <> {sql_cents("-refunded_fee")}
            OR (status = %(refunded)s AND {sql_cents("refunded_amount")} <> {sql_cents("total_amount")})
            OR (status = %(completed)s AND refunds > 0)
            OR (status = %(partially_refunded)s AND (refunds = 0
                OR {sql_cents("refunded_amount")} >= {sql_cents("total_amount")}))
        UNION
        SELECT j.order_id FROM wallets_journal j
        WHERE j.order_id IS NOT NULL {orphan_scope}
            AND NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = j.order_id)
    """
    params = {
        "completed": OrderStatus.COMPLETED,
        "refunded": OrderStatus.REFUNDED,
        "partially_refunded": OrderStatus.PARTIALLY_REFUNDED,
        "gateway": PaymentMethod.GATEWAY,
        "refund_succeeded": RefundStatus.SUCCEEDED,
        "sale_refund": RefundKind.SALE,
        "clearing_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.GATEWAY_CLEARING]),
        "platform_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.PLATFORM_REVENUE]),
        "receivables_wallet": sql_uuid(SYSTEM_WALLET_IDS[WalletKind.RECEIVABLES]),
    }
    return offenders(sql=sql, since=since, params=params)


@check(
    name="product_stock",
    entity="product",
    description="available units = units supplied - units held by PENDING, COMPLETED and PARTIALLY_REFUNDED orders",
    windowed=False,
)
def check_product_stock(*, since: datetime | None = None) -> Findings:
    """Products whose available units are not units supplied minus the units held by live orders.

    Live orders are PENDING (a card payment's reservation), COMPLETED and
    PARTIALLY_REFUNDED ones; failed, expired and wholly refunded orders gave
    their units back. Every product,
    whatever `since` is: stock is a running total like a balance.
    """
    sql = """
        SELECT p.id AS offender_id
        FROM catalog_product p
        LEFT JOIN (
            SELECT product_id, SUM(quantity) AS held
            FROM orders_order
            WHERE status IN (%(pending)s, %(completed)s, %(partially_refunded)s)
            GROUP BY product_id
        ) live ON live.product_id = p.id
        WHERE p.available_units <> p.units_supplied - COALESCE(live.held, 0)
    """
    pending, completed, partially_refunded = UNIT_HOLDING_STATUSES
    return offenders(
        sql=sql, params={"pending": pending, "completed": completed, "partially_refunded": partially_refunded}
    )


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


@check(
    name="stale_pending_refunds",
    entity="refund",
    description=f"no refund is PENDING for more than {STALE_PENDING_GRACE // timedelta(minutes=1)} minutes "
    "(settle them: reconcile --gateway --fix)",
    windowed=False,
)
def check_stale_pending_refunds(*, since: datetime | None = None) -> Findings:
    """Refunds still PENDING STALE_PENDING_GRACE after they were asked for: Stripe's answer never arrived here.

    `reconcile --gateway --fix` settles them from what Stripe holds.
    """
    sql = """
        SELECT id AS offender_id
        FROM orders_refund
        WHERE status = %(pending)s AND created_at <= %(before)s
    """
    return offenders(
        sql=sql,
        params={"pending": RefundStatus.PENDING, "before": sql_datetime(timezone.now() - STALE_PENDING_GRACE)},
    )
