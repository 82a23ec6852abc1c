"""A merchant's webhook endpoints: created with a fresh secret, changed, deleted."""

from uuid import UUID

from django.db import transaction

from notifications.exceptions import WebhookEndpointNotFound
from notifications.locks import endpoint_lock
from notifications.models import WebhookEndpoint
from notifications.signing import secret_generate


@transaction.atomic
def webhook_endpoint_create(*, merchant, url: str, events: list[str], description: str = "") -> WebhookEndpoint:
    """Subscribe a URL (already checked by `urlguard.url_resolve`) to event types, with a new secret."""
    return WebhookEndpoint.objects.create(
        merchant=merchant,
        url=url,
        events=list(dict.fromkeys(events)),
        description=description,
        secret=secret_generate(),
    )


@transaction.atomic
def webhook_endpoint_update(*, merchant, endpoint_id: UUID, **changes) -> WebhookEndpoint:
    """Change url, events, description or isActive of the merchant's endpoint."""
    try:
        endpoint = endpoint_lock(merchant=merchant, endpoint_id=endpoint_id)
    except WebhookEndpoint.DoesNotExist as error:
        raise WebhookEndpointNotFound() from error
    allowed = {"url", "events", "description", "is_active"}
    for field, value in changes.items():
        if field in allowed:
            setattr(endpoint, field, list(dict.fromkeys(value)) if field == "events" else value)
    if changes.get("is_active"):
        # Enabled again by its merchant: the platform's reason and the failure clock start over.
        endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, merchant, endpoint_id: UUID) -> None:
    """Delete the merchant's endpoint and its delivery log."""
    deleted, _ = WebhookEndpoint.objects.filter(pk=endpoint_id, merchant=merchant).delete()
    if not deleted:
        raise WebhookEndpointNotFound()
