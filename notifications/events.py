"""Outbox subscribers: what notifications do with each domain event (registered in apps.py)."""

from uuid import UUID

from core.models import OutboxEvent
from core.outbox import EventType, outbox_subscribe
from notifications.services import emails_for_completed_order, webhook_deliveries_create


def _merchant_id(event: OutboxEvent) -> UUID:
    # The payload is the order or product as the API showed it when the change committed.
    subject = event.payload.get("order") or event.payload["product"]
    return UUID(subject["merchantId"])


def deliveries_create_for_event(event: OutboxEvent) -> None:
    """Fan the event out to its merchant's endpoints; `data` is the event's own snapshot."""
    webhook_deliveries_create(
        event_id=event.id,
        event_type=event.type,
        created_at=event.created_at,
        merchant_id=_merchant_id(event),
        data=event.payload,
    )


def emails_for_event(event: OutboxEvent) -> None:
    """Queue the receipt (and the merchant's opt-in sale notice) of a completed order."""
    emails_for_completed_order(order_id=UUID(event.payload["order"]["id"]))


def subscribe() -> None:
    for event_type in EventType.values:
        outbox_subscribe(event_type=event_type, handler=deliveries_create_for_event)
    outbox_subscribe(event_type=EventType.ORDER_COMPLETED, handler=emails_for_event)
