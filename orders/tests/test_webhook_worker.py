"""Stripe events off the request path: stored and answered at once, processed by a real worker."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from orders.models import WebhookEvent, WebhookOutcome
from orders.services.webhooks import webhook_events_sweep
from orders.tests.test_card import WEBHOOK, signed_event
from paymentflow.tests.celery_worker import wait_for

ORPHAN_INTENT = {
    "id": "pi_orphan",
    "object": "payment_intent",
    "currency": "usd",
    "status": "requires_payment_method",
    "metadata": {},
}


@pytest.fixture
def celery_worker_env(stripe_worker_env):
    return stripe_worker_env


@pytest.mark.django_db(transaction=True)
def test_the_view_answers_before_processing_and_the_worker_logs_with_its_request_id(
    stripe_settings, live_server, celery_worker
):
    body, header = signed_event(stripe_settings, event_type="payment_intent.payment_failed", intent=ORPHAN_INTENT)

    response = requests.post(
        f"{live_server.url}{WEBHOOK}",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json", "X-Request-ID": "req-stripe-1"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "RECEIVED"}
    event_id = json.loads(body)["id"]
    wait_for(lambda: WebhookEvent.objects.get(event_id=event_id).outcome == WebhookOutcome.FAILED)
    [line] = [line for line in celery_worker.log().splitlines() if f"Webhook event {event_id} failed" in line]
    assert "[req-stripe-1]" in line


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_an_event_left_received(stripe_settings, celery_worker):
    # Stored while the broker was down, say: nothing was queued for it.
    stale = WebhookEvent.objects.create(event_id="evt_stale", type="customer.created", payload={"data": {"object": {}}})
    fresh = WebhookEvent.objects.create(event_id="evt_fresh", type="customer.created", payload={"data": {"object": {}}})
    WebhookEvent.objects.filter(pk=stale.pk).update(received_at=timezone.now() - timedelta(minutes=5))

    assert webhook_events_sweep() == 1

    wait_for(lambda: WebhookEvent.objects.get(pk=stale.pk).outcome == WebhookOutcome.IGNORED)
    assert WebhookEvent.objects.get(pk=fresh.pk).outcome == WebhookOutcome.RECEIVED
