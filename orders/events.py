"""The orders' domain events (core.outbox), emitted in the transaction of the change they report.

The payload is webhook-ready, `{"order": <the API's order object>}`, rendered at
emit time from the order as that transaction leaves it: the event reports the
state that committed with it (an `order.completed` delivered after a later
refund still says COMPLETED, and each partial refund's event shows the amounts
of that refund), as Stripe's events do, and the worker needs no query to build a
delivery. Rendering the API's object is why this one service path uses a serializer.
"""

from django.db.models import prefetch_related_objects

from core.outbox import EventType, as_api_json, outbox_emit
from orders.models import Order, OrderStatus
from orders.serializers import OrderSerializer

# The status a release leaves a PENDING card order in, and the event that says so.
RELEASE_EVENTS = {OrderStatus.FAILED: EventType.ORDER_FAILED, OrderStatus.EXPIRED: EventType.ORDER_EXPIRED}


def order_event_emit(*, event_type: str, order: Order) -> None:
    """Record `event_type` for `order` in the caller's transaction (no client secret: there is no request)."""
    # One query for the refunds the object lists and sums, read after the change in this transaction.
    prefetch_related_objects([order], "refunds")
    outbox_emit(event_type=event_type, payload={"order": as_api_json(OrderSerializer(order).data)})
