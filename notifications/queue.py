"""Hand work to the worker by task name, after the transaction that decided it commits."""

from functools import partial

from celery import current_app
from django.db import transaction

ATTEMPT_WEBHOOK = "notifications.tasks.webhook_delivery_attempt"
SEND_EMAIL = "notifications.tasks.email_send"


def _send(name: str, *args) -> None:
    # By name: the services need not import tasks.py, which imports them.
    current_app.send_task(name, args=[str(arg) for arg in args])


def task_enqueue_on_commit(name: str, *args) -> None:
    """Enqueue once the current transaction commits; a broker that is down is only logged.

    Nothing is lost that way: the row stays due and the periodic sweep
    (`webhook_deliveries_retry_due`, `emails_send_due`) enqueues it again.
    """
    transaction.on_commit(partial(_send, name, *args), robust=True)
