"""The gateway check: card orders against their PaymentIntents and refunds in Stripe.

It runs only on request (`reconcile --gateway`) and after the database
snapshot, never inside it: a long series of Stripe calls must not hold a
transaction open.
"""

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q, QuerySet
from rest_framework import status

from core import gateway
from core.money import MoneySum, to_minor_units
from orders.models import Order, OrderStatus, PaymentMethod, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from reconciliation.checks.base import EXAMPLE_LIMIT, Findings, check

GATEWAY_PAGE_SIZE = 500

# Refunds that have returned, or are returning, the money; failed and canceled ones have not.
_REFUND_LIVE_STATUSES = ("succeeded", "pending", "requires_action")


def _refunded_minor(*, payment_intent_id: str) -> int:
    """Return how much Stripe has refunded (or is refunding) of a PaymentIntent, in minor units."""
    refunds = gateway.refund_list(payment_intent_id=payment_intent_id)
    return sum(refund.amount_minor for refund in refunds if refund.status in _REFUND_LIVE_STATUSES)


def _gateway_discrepancy(
    *, order_status: str, payment_intent_id: str | None, total, currency: str, refunded_here: int
) -> str | None:
    """Return why Stripe does not back this card order, or None when it does.

    `refunded_here` is what this order's SUCCEEDED refunds gave back, in minor
    units: Stripe must hold exactly as much in refunds.
    """
    unpaid_here = order_status in (OrderStatus.FAILED, OrderStatus.EXPIRED)
    if not payment_intent_id:
        return None if unpaid_here else "no PaymentIntent id"
    try:
        intent = gateway.payment_intent_retrieve(payment_intent_id=payment_intent_id)
    except gateway.GatewayError as exc:
        if exc.http_status == status.HTTP_404_NOT_FOUND:
            return None if unpaid_here else "PaymentIntent not found"
        raise
    if intent.status != "succeeded":
        return None if unpaid_here else f"PaymentIntent {intent.status}"
    refunded_at_stripe = _refunded_minor(payment_intent_id=payment_intent_id)
    if unpaid_here and refunded_at_stripe < intent.amount_minor:
        # The order gave its units back: money Stripe took for it must have gone back too.
        return f"paid in Stripe but {order_status.lower()} here, not refunded"
    if not unpaid_here and (
        intent.amount_minor != to_minor_units(total) or intent.currency.lower() != currency.lower()
    ):
        return "amount or currency differs"
    if refunded_at_stripe != refunded_here:
        return "refunds in Stripe differ from the succeeded refunds here"
    return None


def _refunded_by_order(order_ids: list) -> dict:
    """Return, per order, what its SUCCEEDED refunds gave back in minor units."""
    sums = (
        Refund.objects.filter(order_id__in=order_ids, status=RefundStatus.SUCCEEDED)
        .values("order_id")
        .annotate(total=MoneySum("amount"))
    )
    return {row["order_id"]: to_minor_units(row["total"]) for row in sums}


def _in_pages(orders: QuerySet[Order]) -> Iterator[list[tuple]]:
    """Yield pages of (id, status, payment_intent_id, total_amount, currency) by id, one page in memory at a time.

    Keyset pages rather than a server-side cursor: no cursor or transaction
    stays open across the Stripe calls, and an error half-way leaves nothing behind.
    """
    page = orders.order_by("id").values_list("id", "status", "payment_intent_id", "total_amount", "currency")
    last_id = None
    while True:
        rows = list((page.filter(id__gt=last_id) if last_id else page)[:GATEWAY_PAGE_SIZE])
        yield rows
        if len(rows) < GATEWAY_PAGE_SIZE:
            return
        last_id = rows[-1][0]


@check(
    name="gateway_payments",
    entity="order",
    description="card orders agree with Stripe: paid (same amount) when paid here, refunded exactly as much as "
    "their succeeded refunds, never paid-and-kept when failed or expired",
    windowed=True,
)
def check_gateway_payments(*, since: datetime | None = None) -> Findings:
    """Card orders that Stripe does not back: paid ones need a `succeeded` PaymentIntent of the same
    amount and currency, FAILED or EXPIRED ones whose intent was paid anyway (a late payment) a full
    refund, and for every one Stripe's refunds must equal the order's SUCCEEDED refunds.

    The one check that is not a single statement: each order means a call to
    Stripe (two for a paid one: its intent and its refunds). The orders are read in pages of
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
    for page in _in_pages(orders):
        refunded = _refunded_by_order([row[0] for row in page])
        for order_id, order_status, payment_intent_id, total, currency in page:
            reason = _gateway_discrepancy(
                order_status=order_status,
                payment_intent_id=payment_intent_id,
                total=total,
                currency=currency,
                refunded_here=refunded.get(order_id, 0),
            )
            if reason:
                count += 1
                reasons[reason] += 1
                if len(examples) < EXAMPLE_LIMIT:
                    examples.append(str(order_id))
    detail = "; ".join(f"{reason}: {number}" for reason, number in sorted(reasons.items()))
    return Findings(count=count, examples=tuple(examples), detail=detail)


@check(
    name="failed_webhook_events",
    entity="webhook_event",
    description="no Stripe event failed to apply (reprocess it once its cause is fixed, or mark it ignored)",
    windowed=True,
)
def check_failed_webhook_events(*, since: datetime | None = None) -> Findings:
    """Stored Stripe events whose processing failed: a payment that did not match its order, an unknown order.

    Each is evidence of money at Stripe the books may not show; an operator
    reprocesses it or marks it ignored in the back office.
    """
    events = WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED)
    if since:
        events = events.filter(received_at__gte=since)
    examples = tuple(events.order_by("-received_at").values_list("event_id", flat=True)[:EXAMPLE_LIMIT])
    return Findings(count=events.count(), examples=examples)
