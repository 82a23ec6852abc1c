"""Hand work to the worker by task name, after the transaction that decided it commits."""

from celery import current_app
from django.db import transaction

from core.queue import task_enqueue

ATTEMPT_WEBHOOK = "notifications.tasks.webhook_delivery_attempt"
SEND_EMAIL = "notifications.tasks.email_send"


def task_enqueue_on_commit(name: str, **kwargs) -> None:
    """Queue task `name` once the current transaction commits; a broker that is down is only logged.

    By name, so the services need not import tasks.py (which imports them).
    Nothing is lost when the broker is down: the row stays due and the periodic
    sweep (`webhook_deliveries_retry_due`, `emails_send_due`) queues it again.
    """
    arguments = {key: str(value) for key, value in kwargs.items()}
    transaction.on_commit(lambda: task_enqueue(current_app.tasks[name], **arguments), robust=True)
