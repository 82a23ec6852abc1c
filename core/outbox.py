"""The transactional outbox: domain events written with their change, published to subscribers after commit.

An event exists if and only if its change committed: `outbox_emit` writes the
row inside the caller's transaction and, on commit, wakes a drain
(`outbox_drain`), which publishes every fresh event that committed. A drain
queued and not started yet serves every commit until it starts, so a burst of
purchases queues one Celery message, not one each (a message costs the web
process about a millisecond of CPU: more than the rest of the purchase's
bookkeeping). A publication that never reaches the broker (Redis down at
commit) or a worker killed half-way leaves the row unpublished, and
`outbox_sweep` (beat, every minute) queues it again. Subscribers therefore see an event at least once,
but what a subscriber writes to the database commits together with the
event's `published_at`, so those writes happen exactly once; anything a
subscriber does outside the database belongs in its own task, queued with
`transaction.on_commit`.

Apps above the kernel subscribe in their `AppConfig.ready()`, so the kernel
imports none of them and every process (web, worker, beat) has the same table::

    outbox_subscribe(event_type=EventType.ORDER_COMPLETED, handler=deliveries_create_for_event)
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import orjson
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from core.cache import cache_write_on_commit
from core.logging import request_id_var
from core.models import OutboxEvent
from core.queue import task_enqueue_by_name, task_enqueue_on_commit
from core.renderers import CamelCaseORJSONRenderer
from core.retries import backoff_delay
from core.transactions import atomic_required

logger = logging.getLogger("paymentflow.outbox")

# The on-commit publication normally runs within a second; the sweep waits this long before
# queueing an event again, and a failed publication waits this long, doubled per attempt (capped).
SWEEP_GRACE = timedelta(seconds=60)
# The publication tasks (core/tasks.py), queued by name: that module imports this one.
PUBLISH_TASK = "core.outbox_publish"
DRAIN_TASK = "core.outbox_drain"
# Present while a drain is queued and has not started: commits meanwhile need not queue another.
# It expires, so a drain lost with its worker or broker holds new events back this long at most
# (and the sweep publishes them anyway).
DRAIN_PENDING_KEY = "outbox:drain-pending"
DRAIN_PENDING_SECONDS = 10
# Events one drain publishes; a drain that finds more wakes the next one.
DRAIN_LIMIT = 100
MAX_BACKOFF = timedelta(hours=1)
# After this many publications that did not finish, an event is dead: shown to operators, no longer swept.
OUTBOX_MAX_ATTEMPTS = 10


class EventType(models.TextChoices):
    """The domain events of API.md (Merchant webhooks): the names merchants subscribe to."""

    ORDER_COMPLETED = "order.completed"
    ORDER_REFUNDED = "order.refunded"
    ORDER_FAILED = "order.failed"
    ORDER_EXPIRED = "order.expired"
    PRODUCT_SOLD_OUT = "product.sold_out"


Subscriber = Callable[[OutboxEvent], None]
_subscribers: dict[str, list[Subscriber]] = {event_type: [] for event_type in EventType.values}


def outbox_subscribe(*, event_type: str, handler: Subscriber) -> None:
    """Have `handler(event)` called, inside the publishing transaction, for every event of `event_type`."""
    handlers = _subscribers[EventType(event_type)]
    if handler not in handlers:  # ready() may run twice (tests): subscribing is idempotent.
        handlers.append(handler)


def outbox_unsubscribe(*, event_type: str, handler: Subscriber) -> None:
    """Stop calling `handler` for `event_type` (a no-op if it was not subscribed)."""
    handlers = _subscribers[EventType(event_type)]
    if handler in handlers:
        handlers.remove(handler)


def outbox_emit(*, event_type: str, payload: dict) -> OutboxEvent:
    """Record a domain event in the caller's transaction; it is published once that commits.

    Must run inside the `transaction.atomic()` of the change it reports: then a
    rollback takes the event with it.
    """
    columns = _event_prepared(event_type=event_type, caller="outbox_emit()")
    return OutboxEvent.objects.create(
        type=EventType(event_type),
        payload=payload,
        request_id=columns.request_id,
        next_attempt_at=columns.next_attempt_at,
    )


@dataclass(frozen=True)
class OutboxRowColumns:
    """What an event's row holds besides its type and payload (see `outbox_emit_in_sql`)."""

    request_id: str
    next_attempt_at: datetime


def outbox_emit_in_sql(*, event_type: str) -> OutboxRowColumns:
    """Prepare an event whose row the caller's SQL writes itself, in its transaction; return the row's columns.

    For a statement that writes its change and its event together (the wallet
    purchase function, orders/migrations): the event is published once that
    commits, as `outbox_emit`'s are. If the SQL ends up writing no row (a
    refusal), the caller raises: the rollback takes the wake-up with it (at worst one empty drain).
    """
    return _event_prepared(event_type=event_type, caller="outbox_emit_in_sql()")


def _event_prepared(*, event_type: str, caller: str) -> OutboxRowColumns:
    """Check an event about to be written (its transaction, its type), wake the drain on commit; return its columns."""
    atomic_required(f"{caller} must run inside the transaction of the change it reports.")
    EventType(event_type)
    outbox_wake()
    return OutboxRowColumns(request_id=request_id_var.get() or "", next_attempt_at=timezone.now() + SWEEP_GRACE)


def outbox_wake() -> None:
    """Once the current transaction commits (at once outside one), queue a drain unless one is queued, not started.

    After the commit, so the drain, which clears the key before it reads, either
    sees this commit's events or was not pending and is queued here. The key goes
    in the commit's one round trip to the cache (core.cache); a needless wake-up
    costs only a drain that finds nothing.
    """
    cache_write_on_commit(
        key=DRAIN_PENDING_KEY,
        value=True,
        timeout=DRAIN_PENDING_SECONDS,
        only_if_absent=True,
        then=_drain_queue_unless_pending,
    )


def _drain_queue_unless_pending(added: bool | None) -> None:
    # None: the cache could not answer, so nobody knows whether a drain is pending: queue one.
    if added is False:
        return
    if not task_enqueue_by_name(DRAIN_TASK):
        # Not queued: the next commit must try again rather than wait for the key to expire.
        cache.delete(DRAIN_PENDING_KEY)


def outbox_drain(*, limit: int = DRAIN_LIMIT) -> int:
    """Publish the fresh events (unpublished, none failed yet), oldest first; return how many were published.

    Events whose publication failed wait for their backoff (the sweep); one a
    killed worker left half-way has no error yet and is taken again here. Two
    drains at once cost only queries: `outbox_publish` hands each event over once.
    """
    # Cleared before reading: a commit from now on queues the next drain.
    cache.delete(DRAIN_PENDING_KEY)
    fresh = list(
        OutboxEvent.objects.filter(published_at=None, last_error="", attempts__lt=OUTBOX_MAX_ATTEMPTS)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    published = sum(outbox_publish(event_id=event_id) is not None for event_id in fresh)
    if len(fresh) == limit:
        outbox_wake()
    return published


def as_api_json(data) -> dict:
    """Return serializer data exactly as the API sends it (camelCase keys, money as strings), for a payload."""
    return orjson.loads(CamelCaseORJSONRenderer().render(data))


def outbox_publish(*, event_id: UUID | str) -> OutboxEvent | None:
    """Hand an event to each of its subscribers, once; return it, or None if there was nothing to do.

    Nothing to do: unknown, already published, dead, or being published right
    now by another worker (its row lock is held, and that worker finishes it).
    """
    now = timezone.now()
    # The attempt is counted in a commit of its own before any subscriber runs, so a
    # worker killed half-way still counts it and the sweep backs off.
    with transaction.atomic():
        event = _lock_unpublished(event_id)
        if event is None or event.attempts >= OUTBOX_MAX_ATTEMPTS:
            return None
        event.attempts += 1
        event.next_attempt_at = now + backoff_delay(
            base_seconds=SWEEP_GRACE.total_seconds(), attempts=event.attempts, cap_seconds=MAX_BACKOFF.total_seconds()
        )
        event.save(update_fields=["attempts", "next_attempt_at"])
    token = request_id_var.set(event.request_id or None)
    try:
        with transaction.atomic():
            event = _lock_unpublished(event_id)
            if event is None:
                return None
            for handler in list(_subscribers.get(event.type, ())):
                handler(event)
            event.published_at = timezone.now()
            event.last_error = ""
            event.save(update_fields=["published_at", "last_error"])
        logger.info("Event %s (%s) published", event.id, event.type)
        return event
    except Exception as exc:
        # Any subscriber's failure (a bug, a time limit) rolls back what all of them wrote;
        # the sweep publishes the event again after its backoff.
        logger.exception("Event %s not published (attempt %s)", event_id, event.attempts)
        OutboxEvent.objects.filter(id=event_id).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return None
    finally:
        request_id_var.reset(token)


def _lock_unpublished(event_id: UUID | str) -> OutboxEvent | None:
    # skip_locked: a second publication of the same event (the sweep's, a redelivery) steps aside.
    return OutboxEvent.objects.select_for_update(skip_locked=True).filter(id=event_id, published_at=None).first()


def outbox_sweep(*, limit: int = 500) -> int:
    """Queue the unpublished, live events that are due again (missed by the broker, or failed); return how many."""
    now = timezone.now()
    due = list(
        OutboxEvent.objects.filter(published_at=None, attempts__lt=OUTBOX_MAX_ATTEMPTS, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    # Not queued again by the next sweep while this publication waits in a long queue.
    OutboxEvent.objects.filter(id__in=due).update(next_attempt_at=now + SWEEP_GRACE)
    for event_id in due:
        task_enqueue_by_name(PUBLISH_TASK, event_id=str(event_id))
    if due:
        logger.info("Outbox sweep queued %s event(s)", len(due))
    return len(due)


def outbox_retry(*, event_ids: list[UUID]) -> int:
    """Give unpublished (dead or failing) events a fresh set of attempts and queue them now; return how many."""
    ids = list(OutboxEvent.objects.filter(id__in=event_ids, published_at=None).values_list("id", flat=True))
    OutboxEvent.objects.filter(id__in=ids).update(attempts=0, next_attempt_at=timezone.now() + SWEEP_GRACE)
    for event_id in ids:
        task_enqueue_on_commit(PUBLISH_TASK, event_id=event_id)
    return len(ids)


def outbox_dead_events() -> models.QuerySet[OutboxEvent]:
    """Return the events that used up their attempts without being published."""
    return OutboxEvent.objects.filter(published_at=None, attempts__gte=OUTBOX_MAX_ATTEMPTS)
