"""Celery tasks of notifications: thin wrappers of the services, each safe to run twice."""

from uuid import UUID

from celery import shared_task

from core.queue import task_enqueue
from notifications import selectors, services

# At most this many rows per sweep; the next run takes the rest.
SWEEP_BATCH = 500


@shared_task(name="notifications.tasks.webhook_delivery_attempt", soft_time_limit=30, time_limit=60)
def webhook_delivery_attempt(*, delivery_id: str) -> None:
    """Make a delivery's next attempt if it is due (its claim keeps it single)."""
    services.webhook_delivery_attempt(delivery_id=UUID(delivery_id))


@shared_task(name="notifications.tasks.webhook_deliveries_retry_due", soft_time_limit=60, time_limit=120)
def webhook_deliveries_retry_due() -> int:
    """Enqueue every delivery whose attempt is due: retries, and those a lost message or worker left behind."""
    ids = selectors.deliveries_due(limit=SWEEP_BATCH)
    for delivery_id in ids:
        task_enqueue(webhook_delivery_attempt, delivery_id=str(delivery_id))
    return len(ids)


@shared_task(name="notifications.tasks.email_send", soft_time_limit=60, time_limit=90)
def email_send(*, email_id: str) -> None:
    """Send an email if it is due (its claim keeps it single)."""
    services.email_send(email_id=UUID(email_id))


@shared_task(name="notifications.tasks.emails_send_due", soft_time_limit=60, time_limit=120)
def emails_send_due() -> int:
    """Enqueue every email due (retries after a mail server was down, lost messages)."""
    ids = selectors.emails_due(limit=SWEEP_BATCH)
    for email_id in ids:
        task_enqueue(email_send, email_id=str(email_id))
    return len(ids)
