"""The outbox: an event exists if and only if its change committed, and a real worker hands it to subscribers."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from core import outbox as outbox_module
from core.logging import request_id_var
from core.models import OutboxEvent
from core.outbox import (
    DRAIN_TASK,
    OUTBOX_MAX_ATTEMPTS,
    EventType,
    outbox_dead_events,
    outbox_drain,
    outbox_emit,
    outbox_publish,
    outbox_retry,
    outbox_subscribe,
    outbox_sweep,
    outbox_unsubscribe,
)
from paymentflow.tests.celery_worker import wait_for

PAYLOAD = {"product": {"id": "p-1", "availableUnits": 0}}


def _emit(**kwargs) -> OutboxEvent:
    with transaction.atomic():
        return outbox_emit(event_type=EventType.PRODUCT_SOLD_OUT, payload=PAYLOAD, **kwargs)


@pytest.fixture
def record_path(tmp_path) -> Path:
    return tmp_path / "record.txt"


@pytest.fixture
def celery_worker_env(record_path) -> dict[str, str]:
    # A visibility timeout of seconds, so the message a killed worker held comes back during the test.
    return {"OUTBOX_TEST_RECORD": str(record_path), "CELERY_VISIBILITY_TIMEOUT_SECONDS": "3"}


@pytest.fixture
def celery_worker_include() -> tuple[str, ...]:
    return ("core.tests.outbox_recorder",)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def calls():
    """Subscribe an in-process handler to product.sold_out for the test; return the events it saw."""
    seen: list[OutboxEvent] = []

    def handler(event):
        seen.append(event)

    outbox_subscribe(event_type=EventType.PRODUCT_SOLD_OUT, handler=handler)
    yield seen
    outbox_unsubscribe(event_type=EventType.PRODUCT_SOLD_OUT, handler=handler)


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_is_published_by_the_worker_with_its_request_id(celery_worker, record_path):
    token = request_id_var.set("req-outbox-1")
    try:
        event = _emit()
    finally:
        request_id_var.reset(token)

    wait_for(lambda: OutboxEvent.objects.get(id=event.id).published_at, message="the event published")
    assert _lines(record_path) == [f"start {event.id}", f"done {event.id}"]
    event.refresh_from_db()
    assert (event.attempts, event.last_error, event.request_id) == (1, "", "req-outbox-1")
    published_lines = [line for line in celery_worker.log().splitlines() if f"Event {event.id}" in line]
    assert published_lines and all("[req-outbox-1]" in line for line in published_lines), celery_worker.log()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_emits_nothing():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_emit(event_type=EventType.PRODUCT_SOLD_OUT, payload=PAYLOAD)
        1 / 0  # noqa: B018 (the change fails after its event was written)

    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_emitting_outside_a_transaction_is_refused_and_an_unknown_type_too():
    with pytest.raises(RuntimeError):
        outbox_emit(event_type=EventType.ORDER_COMPLETED, payload=PAYLOAD)
    with pytest.raises(ValueError), transaction.atomic():
        outbox_emit(event_type="order.shipped", payload=PAYLOAD)
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_loses_nothing(celery_worker, record_path):
    block = record_path.with_suffix(".block")
    block.touch()
    event = _emit()
    wait_for(lambda: f"start {event.id}" in _lines(record_path), message="the subscriber started")

    celery_worker.kill()
    block.unlink()
    event.refresh_from_db()
    assert (event.published_at, event.attempts) == (None, 1)

    # The broker gives the unacknowledged message (acks_late) to a worker that starts
    # once its visibility timeout has passed.
    time.sleep(3.5)
    celery_worker.start()
    wait_for(lambda: OutboxEvent.objects.get(id=event.id).published_at, message="the event published after restart")
    assert _lines(record_path) == [f"start {event.id}", f"start {event.id}", f"done {event.id}"]
    event.refresh_from_db()
    assert event.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_the_sweep_publishes_an_event_the_broker_never_got(celery_worker, record_path):
    # As if Redis was down at commit: the row is there, no message was queued.
    missed = OutboxEvent.objects.create(
        type=EventType.ORDER_COMPLETED, payload=PAYLOAD, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    not_due = OutboxEvent.objects.create(
        type=EventType.ORDER_COMPLETED, payload=PAYLOAD, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    assert outbox_sweep() == 1

    wait_for(lambda: OutboxEvent.objects.get(id=missed.id).published_at, message="the swept event published")
    assert _lines(record_path) == [f"start {missed.id}", f"done {missed.id}"]
    not_due.refresh_from_db()
    assert not_due.published_at is None
    # Queued once: the next sweep does not queue it again while its publication may still be waiting.
    assert outbox_sweep() == 0


@pytest.mark.django_db(transaction=True)
def test_publishing_twice_hands_the_event_over_once(calls):
    event = OutboxEvent.objects.create(type=EventType.PRODUCT_SOLD_OUT, payload=PAYLOAD, next_attempt_at=timezone.now())

    assert outbox_publish(event_id=event.id) is not None
    assert outbox_publish(event_id=event.id) is None

    assert [seen.id for seen in calls] == [event.id]
    event.refresh_from_db()
    assert event.attempts == 1 and event.published_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_rolls_back_backs_off_and_dies_after_its_attempts():
    written = []

    def failing(event):
        written.append(
            OutboxEvent.objects.create(type=EventType.ORDER_FAILED, payload={}, next_attempt_at=timezone.now())
        )
        raise ConnectionError("receiver down")

    outbox_subscribe(event_type=EventType.PRODUCT_SOLD_OUT, handler=failing)
    try:
        event = OutboxEvent.objects.create(
            type=EventType.PRODUCT_SOLD_OUT, payload=PAYLOAD, next_attempt_at=timezone.now()
        )
        before = timezone.now()
        assert outbox_publish(event_id=event.id) is None

        event.refresh_from_db()
        # What the subscriber wrote went with the failed publication.
        assert not OutboxEvent.objects.filter(type=EventType.ORDER_FAILED).exists()
        assert (event.published_at, event.attempts) == (None, 1)
        assert event.last_error == "ConnectionError: receiver down"
        assert event.next_attempt_at >= before + timedelta(seconds=60)

        OutboxEvent.objects.filter(id=event.id).update(attempts=OUTBOX_MAX_ATTEMPTS, next_attempt_at=timezone.now())
        assert outbox_publish(event_id=event.id) is None
        assert outbox_sweep() == 0
        assert list(outbox_dead_events()) == [event]
    finally:
        outbox_unsubscribe(event_type=EventType.PRODUCT_SOLD_OUT, handler=failing)

    # An operator's retry gives it its attempts back.
    with transaction.atomic():
        assert outbox_retry(event_ids=[event.id]) == 1
    event.refresh_from_db()
    assert event.attempts == 0
    assert outbox_publish(event_id=event.id) is not None
    assert not outbox_dead_events().exists()


@pytest.fixture
def drains_queued(monkeypatch) -> list[str]:
    """Count the drains queued (through to the real broker)."""
    queued: list[str] = []
    real = outbox_module.task_enqueue_by_name

    def counting(name, **kwargs):
        queued.append(name)
        return real(name, **kwargs)

    monkeypatch.setattr(outbox_module, "task_enqueue_by_name", counting)
    return queued


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_queues_one_drain_until_it_starts_and_it_publishes_them_all(drains_queued, calls):
    burst = [_emit() for _ in range(3)]
    assert drains_queued == [DRAIN_TASK]

    assert outbox_drain() == 3
    assert [seen.id for seen in calls] == [event.id for event in burst]
    # The drain has started: the next commit queues the next drain.
    later = _emit()
    assert drains_queued == [DRAIN_TASK, DRAIN_TASK]
    assert outbox_drain() == 1
    assert calls[-1].id == later.id
    assert not OutboxEvent.objects.filter(published_at=None).exists()


@pytest.mark.django_db(transaction=True)
def test_a_drain_leaves_failed_events_to_their_backoff_and_wakes_the_next_when_it_is_full(drains_queued, calls):
    failed = OutboxEvent.objects.create(
        type=EventType.PRODUCT_SOLD_OUT, payload=PAYLOAD, next_attempt_at=timezone.now(), attempts=1, last_error="x"
    )
    fresh = [_emit() for _ in range(3)]
    drains_queued.clear()

    assert outbox_drain(limit=2) == 2
    assert drains_queued == [DRAIN_TASK]  # two of three: the next drain takes the rest
    assert outbox_drain(limit=2) == 1
    assert [seen.id for seen in calls] == [event.id for event in fresh]
    failed.refresh_from_db()
    assert (failed.published_at, failed.attempts) == (None, 1)


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_could_not_be_queued_does_not_hold_back_the_next_commit(monkeypatch, drains_queued):
    monkeypatch.setattr(
        outbox_module, "task_enqueue_by_name", lambda name, **kwargs: drains_queued.append(name) and False
    )
    _emit()
    _emit()
    # Each commit tried: none waited for a drain that was never queued.
    assert drains_queued == [DRAIN_TASK, DRAIN_TASK]


@pytest.mark.django_db(transaction=True)
def test_the_worker_publishes_a_burst_of_events(celery_worker, record_path):
    events = [_emit() for _ in range(5)]
    wait_for(lambda: not OutboxEvent.objects.filter(published_at=None).exists(), message="the burst published")
    assert sorted(_lines(record_path)) == sorted(
        [f"start {event.id}" for event in events] + [f"done {event.id}" for event in events]
    )
