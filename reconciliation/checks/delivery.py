"""The checks that tie deliveries and code pools to orders and stock.

Same rules as the other checks (`reconciliation.checks.base`): one set-based
statement each, a count and the first few offending ids, nothing written.
"""

# ruff: noqa: S608 - the SQL is assembled from constant fragments; every value is a bound parameter.

from datetime import datetime

from catalog.models import DeliveryKind
from delivery.models import CodeStatus, DeliveryStatus
from orders.models import OrderStatus
from reconciliation.checks.base import Findings, check, offenders

_PARAMS = {
    "codes_kind": DeliveryKind.CODES,
    **{f"code_{status.name.lower()}": status.value for status in CodeStatus},
    **{f"delivery_{status.name.lower()}": status.value for status in DeliveryStatus},
    **{f"order_{status.name.lower()}": status.value for status in OrderStatus},
}


@check(
    name="code_stock",
    entity="product",
    description="a CODES product's available units = its AVAILABLE codes",
    windowed=False,
)
def check_code_stock(*, since: datetime | None = None) -> Findings:
    """CODES products whose `available_units` is not the number of their AVAILABLE, undeleted codes."""
    sql = """
        SELECT p.id AS offender_id
        FROM catalog_product p
        LEFT JOIN (
            SELECT product_id, COUNT(*) AS available
            FROM delivery_code
            WHERE status = %(code_available)s AND deleted_at IS NULL
            GROUP BY product_id
        ) pool ON pool.product_id = p.id
        WHERE p.delivery_kind = %(codes_kind)s AND p.available_units <> COALESCE(pool.available, 0)
    """
    return offenders(sql=sql, params=_PARAMS)


@check(
    name="order_deliveries",
    entity="order",
    description="every order has one delivery, in the state its status implies, holding its quantity of codes "
    "(CODES) in the state that status implies",
    windowed=True,
)
def check_order_deliveries(*, since: datetime | None = None) -> Findings:
    """Orders whose delivery, or whose codes, are not what the order's status says.

    PENDING: delivery PENDING, `quantity` codes RESERVED (CODES products).
    COMPLETED and PARTIALLY_REFUNDED: DELIVERED with `quantity` codes DELIVERED,
    or REVOKED one by one by an operator (each with its revocation record); or
    the whole delivery revoked by an operator (recorded). REFUNDED: REVOKED,
    `quantity` codes REVOKED. FAILED and EXPIRED: still PENDING, no code. Other
    products' orders hold no code. A delivery must belong to an existing order of the same
    buyer and product. With `since`, the orders created since.
    """
    scope = "WHERE o.created_at >= %(since)s" if since else ""
    sql = f"""
        WITH scoped AS (
            SELECT o.id, o.status, o.quantity, o.buyer_id, o.product_id, p.delivery_kind
            FROM orders_order o JOIN catalog_product p ON p.id = o.product_id
            {scope}
        ),
        held AS (
            SELECT c.delivery_id,
                COUNT(*) AS codes,
                COUNT(*) FILTER (WHERE c.status = %(code_reserved)s) AS reserved,
                COUNT(*) FILTER (WHERE c.status = %(code_delivered)s) AS delivered,
                COUNT(*) FILTER (WHERE c.status = %(code_revoked)s) AS revoked,
                COUNT(*) FILTER (
                    WHERE c.status = %(code_revoked)s
                    AND EXISTS (SELECT 1 FROM delivery_revocation r WHERE r.code_id = c.id)
                ) AS revoked_by_operator
            FROM delivery_code c
            WHERE c.delivery_id IS NOT NULL
            GROUP BY c.delivery_id
        ),
        joined AS (
            SELECT o.*, d.id AS delivery_id, d.status AS delivery_status,
                d.buyer_id AS delivery_buyer_id, d.product_id AS delivery_product_id,
                EXISTS (SELECT 1 FROM delivery_revocation r WHERE r.delivery_id = d.id) AS delivery_revoked_by_operator,
                COALESCE(h.codes, 0) AS codes, COALESCE(h.reserved, 0) AS reserved,
                COALESCE(h.delivered, 0) AS delivered, COALESCE(h.revoked, 0) AS revoked,
                COALESCE(h.revoked_by_operator, 0) AS revoked_by_operator,
                CASE WHEN o.delivery_kind = %(codes_kind)s THEN o.quantity ELSE 0 END AS due
            FROM scoped o
            LEFT JOIN delivery_delivery d ON d.order_id = o.id
            LEFT JOIN held h ON h.delivery_id = d.id
        )
        SELECT id AS offender_id FROM joined
        WHERE delivery_id IS NULL
            OR delivery_buyer_id <> buyer_id OR delivery_product_id <> product_id
            OR (status = %(order_pending)s
                AND NOT (delivery_status = %(delivery_pending)s AND codes = due AND reserved = due))
            OR (status IN (%(order_failed)s, %(order_expired)s)
                AND NOT (delivery_status = %(delivery_pending)s AND codes = 0))
            OR (status IN (%(order_completed)s, %(order_partially_refunded)s) AND NOT (
                codes = due AND (
                    (delivery_status = %(delivery_delivered)s AND delivered + revoked_by_operator = due
                        AND revoked = revoked_by_operator)
                    OR (delivery_status = %(delivery_revoked)s AND delivery_revoked_by_operator AND revoked = due))))
            OR (status = %(order_refunded)s
                AND NOT (delivery_status = %(delivery_revoked)s AND codes = due AND revoked = due))
        UNION
        SELECT d.order_id FROM delivery_delivery d
        WHERE NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = d.order_id)
            {"AND d.created_at >= %(since)s" if since else ""}
    """
    return offenders(sql=sql, since=since, params=_PARAMS)


@check(
    name="codes_sold_once",
    entity="code",
    description="no code is held by two orders, nor by an order of another product",
    windowed=False,
)
def check_codes_sold_once(*, since: datetime | None = None) -> Findings:
    """Codes held by an order that share their value (keyed hash) with another held code of the product,
    or that an order of another product holds.

    A code row has one delivery, so one row is never in two orders; what could
    still sell a code twice is the same code uploaded twice, which the pool's
    unique hash refuses: this check watches both rules from the outside.
    """
    sql = """
        SELECT c.id AS offender_id
        FROM delivery_code c
        JOIN delivery_delivery d ON d.id = c.delivery_id
        WHERE d.product_id <> c.product_id
            OR EXISTS (
                SELECT 1 FROM delivery_code other
                WHERE other.product_id = c.product_id AND other.lookup_hash = c.lookup_hash
                    AND other.id <> c.id AND other.delivery_id IS NOT NULL
            )
    """
    return offenders(sql=sql, params=_PARAMS)
