"""The kernel's background tasks: publishing outbox events, the sweep, purging idempotency keys."""

from celery import shared_task

from core.idempotency import idempotency_keys_purge
from core.outbox import outbox_drain, outbox_publish, outbox_sweep


@shared_task(name="core.outbox_publish")
def outbox_publish_task(*, event_id: str) -> None:
    """Publish one outbox event to its subscribers (a no-op if it already was)."""
    outbox_publish(event_id=event_id)


@shared_task(name="core.outbox_drain")
def outbox_drain_task() -> int:
    """Publish the events committed since the last drain (queued by their commits, one for a burst)."""
    return outbox_drain()


@shared_task(name="core.outbox_sweep")
def outbox_sweep_task() -> int:
    """Queue again the outbox events that the broker missed or whose publication failed."""
    return outbox_sweep()


@shared_task(name="core.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    """Delete the Idempotency-Key records past their TTL."""
    return idempotency_keys_purge()
