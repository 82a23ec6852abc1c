"""Outbox subscribers: what notifications do with each domain event (registered in apps.py)."""

import logging
from uuid import UUID

from core.models import OutboxEvent
from core.outbox import EventType, outbox_subscribe
from notifications.services import emails_for_completed_order, webhook_deliveries_create

logger = logging.getLogger("paymentflow.notifications")


def _subject(event: OutboxEvent, key: str, field: str) -> UUID | None:
    # The payload is the order or product as the API showed it when the change committed.
    # One that lacks it is skipped, not raised on: a subscriber that raises fails the
    # event's publication for every other subscriber too.
    try:
        return UUID(str((event.payload.get(key) or {})[field]))
    except (KeyError, ValueError, AttributeError):
        logger.warning("Event %s (%s) has no %s.%s: not handled by notifications", event.id, event.type, key, field)
        return None


def deliveries_create_for_event(event: OutboxEvent) -> None:
    """Fan the event out to its merchant's endpoints; `data` is the event's own snapshot."""
    key = "product" if event.type == EventType.PRODUCT_SOLD_OUT else "order"
    merchant_id = _subject(event, key, "merchantId")
    if merchant_id is not None:
        webhook_deliveries_create(
            event_id=event.id,
            event_type=event.type,
            created_at=event.created_at,
            merchant_id=merchant_id,
            data=event.payload,
        )


def emails_for_event(event: OutboxEvent) -> None:
    """Queue the receipt (and the merchant's opt-in sale notice) of a completed order."""
    order_id = _subject(event, "order", "id")
    if order_id is not None:
        emails_for_completed_order(order_id=order_id)


def subscribe() -> None:
    for event_type in EventType.values:
        outbox_subscribe(event_type=event_type, handler=deliveries_create_for_event)
    outbox_subscribe(event_type=EventType.ORDER_COMPLETED, handler=emails_for_event)
