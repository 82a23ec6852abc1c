"""Where notifications lock their rows: a delivery, then (if at all) its endpoint, never the reverse."""

from uuid import UUID

from notifications.models import OutgoingEmail, WebhookDelivery, WebhookEndpoint


def delivery_lock(*, delivery_id: UUID, **scope) -> WebhookDelivery:
    """Lock a delivery (only the delivery's row), within `scope` (e.g. an endpoint of one merchant)."""
    deliveries = WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint__merchant")
    return deliveries.get(pk=delivery_id, **scope)


def endpoint_lock(*, merchant, endpoint_id: UUID) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id, merchant=merchant)


def email_lock(*, email_id: UUID) -> OutgoingEmail:
    return OutgoingEmail.objects.select_for_update().get(pk=email_id)
