"""Reads of endpoints, deliveries and emails, each scoped to whoever may see them."""

from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from notifications.attempts import due_q
from notifications.exceptions import WebhookDeliveryNotFound, WebhookEndpointNotFound
from notifications.models import NotificationPreference, OutgoingEmail, WebhookDelivery, WebhookEndpoint


def endpoint_list_for_merchant(*, merchant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant=merchant)


def endpoint_get_for_merchant(*, merchant, endpoint_id: UUID) -> WebhookEndpoint:
    """Return the merchant's endpoint; another merchant's is as missing as one that never existed."""
    try:
        return endpoint_list_for_merchant(merchant=merchant).get(pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist as error:
        raise WebhookEndpointNotFound() from error


def delivery_list_for_endpoint(*, merchant, endpoint_id: UUID, status: str = "") -> QuerySet[WebhookDelivery]:
    endpoint = endpoint_get_for_merchant(merchant=merchant, endpoint_id=endpoint_id)
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    return deliveries.filter(status=status) if status else deliveries


def delivery_get_for_merchant(*, merchant, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery:
    try:
        return delivery_list_for_endpoint(merchant=merchant, endpoint_id=endpoint_id).get(pk=delivery_id)
    except WebhookDelivery.DoesNotExist as error:
        raise WebhookDeliveryNotFound() from error


def endpoints_subscribed(*, merchant_id: UUID, event_type: str) -> list[WebhookEndpoint]:
    """Return the merchant's active endpoints that take this event type."""
    # Filtered here rather than with JSON `contains`, which SQLite (the embedded
    # default) lacks; a merchant has a handful of endpoints.
    active = WebhookEndpoint.objects.filter(merchant_id=merchant_id, is_active=True)
    return [endpoint for endpoint in active if event_type in endpoint.events]


def deliveries_due(*, limit: int) -> list[UUID]:
    """Ids of deliveries whose next attempt is due, to active endpoints, oldest due first."""
    due = WebhookDelivery.objects.filter(due_q(now=timezone.now()), endpoint__is_active=True)
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])


def emails_due(*, limit: int) -> list[UUID]:
    due = OutgoingEmail.objects.filter(due_q(now=timezone.now()))
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])


def merchant_wants_sale_emails(*, merchant_id: UUID) -> bool:
    return NotificationPreference.objects.filter(merchant_id=merchant_id, sale_emails=True).exists()
