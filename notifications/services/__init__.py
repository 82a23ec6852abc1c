"""Every write of notifications: endpoints, deliveries (fan-out, attempts, retries) and emails."""

from notifications.services.deliveries import (
    webhook_deliveries_create,
    webhook_delivery_attempt,
    webhook_delivery_retry,
)
from notifications.services.emails import email_send, emails_for_completed_order, notification_preference_set
from notifications.services.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)

__all__ = [
    "email_send",
    "emails_for_completed_order",
    "notification_preference_set",
    "webhook_deliveries_create",
    "webhook_delivery_attempt",
    "webhook_delivery_retry",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_update",
]
