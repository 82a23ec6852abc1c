"""The orders' background tasks: Stripe events off the request path, the expiry of unpaid card orders."""

from celery import shared_task

from orders.services.expiry import orders_expire_due
from orders.services.webhooks import webhook_event_process, webhook_events_sweep


@shared_task(name="orders.webhook_event_process")
def webhook_event_process_task(*, event_pk: int) -> None:
    """Process one stored Stripe event (the inbox's row lock keeps redeliveries single)."""
    webhook_event_process(event_pk=event_pk)


@shared_task(name="orders.webhook_events_sweep")
def webhook_events_sweep_task() -> int:
    """Queue again the Stripe events that were stored but never processed."""
    return webhook_events_sweep()


@shared_task(name="orders.expire_due")
def orders_expire_due_task() -> int:
    """Expire the unpaid card orders past their reservation; return how many expired."""
    return len(orders_expire_due().expired)
