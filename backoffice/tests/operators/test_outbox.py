"""The operators' outbox page: dead and failing events are visible, and can be published again."""

import pytest
from django.utils import timezone

from core.models import OutboxEvent
from core.outbox import OUTBOX_MAX_ATTEMPTS, EventType
from paymentflow.tests.celery_worker import wait_for

PAGE = "/admin/core/outboxevent/"


def outbox_event(**fields) -> OutboxEvent:
    return OutboxEvent.objects.create(
        type=EventType.ORDER_COMPLETED, payload={"order": {"id": "o-1"}}, next_attempt_at=timezone.now(), **fields
    )


@pytest.mark.django_db
def test_the_dead_filter_lists_only_events_that_used_up_their_attempts(operator_client):
    dead = outbox_event(attempts=OUTBOX_MAX_ATTEMPTS, last_error="ConnectionError: receiver down")
    outbox_event(attempts=1, published_at=timezone.now())
    outbox_event(attempts=2, last_error="TimeoutError")

    response = operator_client.get(PAGE, {"publication": "dead"})

    assert response.status_code == 200
    assert [event.id for event in response.context["cl"].result_list] == [dead.id]
    detail = operator_client.get(f"{PAGE}{dead.id}/change/")
    assert detail.status_code == 200
    assert b"ConnectionError: receiver down" in detail.content and b"dead" in detail.content


@pytest.mark.django_db(transaction=True)
def test_publish_again_gives_a_dead_event_to_the_worker(operator_client, celery_worker):
    dead = outbox_event(attempts=OUTBOX_MAX_ATTEMPTS, last_error="ConnectionError: receiver down")
    published = outbox_event(attempts=1, published_at=timezone.now())

    response = operator_client.post(
        PAGE, {"action": "publish_again", "_selected_action": [str(dead.id), str(published.id)]}, follow=True
    )

    assert response.status_code == 200
    wait_for(lambda: OutboxEvent.objects.get(id=dead.id).published_at, message="the dead event published")
    dead.refresh_from_db()
    assert (dead.attempts, dead.last_error) == (1, "")
    assert OutboxEvent.objects.get(id=published.id).attempts == 1
