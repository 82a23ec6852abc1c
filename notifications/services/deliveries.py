"""Webhook deliveries: one per (event, subscribed endpoint), attempted by the worker until done.

An attempt is claimed (`attempts.attempt_claim`), sent with no lock or
transaction open (`sender.webhook_post`, at most WEBHOOK_TIMEOUT_SECONDS), and
its outcome recorded under the delivery's row lock
(`webhook_delivery_record_outcome`). A delivery already SUCCEEDED or FAILED is
never claimed, so a task run twice sends nothing more.
"""

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.metrics import webhook_delivery_record
from core.queue import task_enqueue_on_commit
from notifications.attempts import attempt_claim, attempt_failed
from notifications.exceptions import WebhookDeliveryNotFound, WebhookEndpointDisabled
from notifications.locks import delivery_lock
from notifications.models import DeliveryStatus, EmailKind, WebhookDelivery, WebhookEndpoint
from notifications.queue import ATTEMPT_WEBHOOK
from notifications.selectors import endpoints_subscribed
from notifications.sender import SendResult, webhook_post
from notifications.services.emails import email_create
from notifications.signing import signature_header
from notifications.urlguard import UrlRefused, url_resolve

logger = logging.getLogger("paymentflow.webhooks")


def _lease_seconds() -> float:
    # Longer than any attempt can take (the send's hard deadline), so a live claim is
    # never taken over; short enough that a killed worker's attempt is soon due again.
    return 2 * settings.WEBHOOK_TIMEOUT_SECONDS + 5


@transaction.atomic
def webhook_deliveries_create(
    *, event_id: UUID, event_type: str, created_at: datetime, merchant_id: UUID, data: dict
) -> list[WebhookDelivery]:
    """Fan an event out to the merchant's subscribed endpoints: one delivery each, sent at once."""
    payload = {
        "id": str(event_id),
        "type": event_type,
        "createdAt": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
    }
    now = timezone.now()
    rows = [
        WebhookDelivery(
            endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload, next_attempt_at=now
        )
        for endpoint in endpoints_subscribed(merchant_id=merchant_id, event_type=event_type)
    ]
    # The unique (event, endpoint) makes a second fan-out of the same event add nothing.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(WebhookDelivery.objects.filter(event_id=event_id, status=DeliveryStatus.PENDING, attempts=0))
    for delivery in created:
        task_enqueue_on_commit(ATTEMPT_WEBHOOK, delivery_id=delivery.pk)
    return created


def webhook_delivery_attempt(*, delivery_id: UUID) -> WebhookDelivery | None:
    """Make the next attempt of a delivery if it is due and unclaimed; None when there was nothing to do."""
    endpoint = WebhookEndpoint.objects.filter(deliveries=delivery_id, is_active=True).first()
    # Pending deliveries of a disabled endpoint wait: enabling it sends them.
    if endpoint is None or not attempt_claim(model=WebhookDelivery, pk=delivery_id, lease_seconds=_lease_seconds()):
        return None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    result = _send(endpoint=endpoint, delivery=delivery)
    return webhook_delivery_record_outcome(delivery_id=delivery_id, result=result)


def _send(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> SendResult:
    try:
        # Checked again now, and the address connected to is one of those checked.
        target = url_resolve(endpoint.url)
    except UrlRefused as refused:
        return SendResult(None, f"Refused: {refused}")
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "PaymentFlow-Event-Id": str(delivery.event_id),
        "PaymentFlow-Signature": signature_header(secret=endpoint.secret, timestamp=int(time.time()), body=body),
    }
    return webhook_post(target=target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


def webhook_delivery_record_outcome(*, delivery_id: UUID, result: SendResult) -> WebhookDelivery:
    """Record how an attempt went: SUCCEEDED, due again after the backoff, or FAILED when out of attempts.

    The one place an attempt's outcome is known, so it is counted here
    (`paymentflow_webhook_deliveries_total{status}`: an attempt to be retried
    counts as PENDING), once the outcome commits.
    """
    with transaction.atomic():
        delivery = delivery_lock(delivery_id=delivery_id)
        now = timezone.now()
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        delivery.claimed_until = None
        if result.succeeded:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        else:
            # Due again: beat's sweep is webhook_deliveries_retry_due.
            attempt_failed(
                delivery,
                max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
                base_seconds=settings.WEBHOOK_RETRY_BASE_SECONDS,
                now=now,
            )
        delivery.save()
        webhook_delivery_record(status=delivery.status)
        _endpoint_health_record(endpoint=delivery.endpoint, succeeded=result.succeeded, now=now)
    logger.info(
        "webhook attempt",
        extra={
            "delivery_id": str(delivery.pk),
            "event_id": str(delivery.event_id),
            "status": delivery.status,
            "attempts": delivery.attempts,
            "status_code": result.status_code,
        },
    )
    return delivery


def _endpoint_health_record(*, endpoint: WebhookEndpoint, succeeded: bool, now: datetime) -> None:
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    days = settings.WEBHOOK_DISABLE_AFTER_DAYS
    reason = f"Every delivery failed for {days:g} days; disabled automatically."
    # Conditional: of concurrent failing attempts, exactly one disables and mails.
    disabled = endpoints.filter(is_active=True, failing_since__lte=now - timedelta(days=days)).update(
        is_active=False, disabled_reason=reason, disabled_at=now, updated_at=now
    )
    if disabled:
        logger.warning("webhook endpoint disabled", extra={"endpoint_id": str(endpoint.pk)})
        email_create(
            kind=EmailKind.ENDPOINT_DISABLED,
            subject_id=endpoint.pk,
            recipient=endpoint.merchant.email,
            # Each disabling is a notice of its own; the conditional UPDATE keeps it single.
            dedupe_key=f"endpoint-disabled:{endpoint.pk}:{uuid4()}",
        )


def webhook_delivery_retry(*, merchant, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery:
    """Send a delivery again soon, whatever its status: one more attempt beyond those already made."""
    with transaction.atomic():
        try:
            delivery = delivery_lock(delivery_id=delivery_id, endpoint_id=endpoint_id, endpoint__merchant=merchant)
        except WebhookDelivery.DoesNotExist as error:
            raise WebhookDeliveryNotFound() from error
        if not delivery.endpoint.is_active:
            raise WebhookEndpointDisabled()
        now = timezone.now()
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            # An attempt is under way; it reports on its own.
            return delivery
        # A delivery that ran out of attempts gets exactly one more: its count stays
        # at or past WEBHOOK_MAX_ATTEMPTS, so a failure makes it FAILED again.
        delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now
        delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
        task_enqueue_on_commit(ATTEMPT_WEBHOOK, delivery_id=delivery.pk)
    return delivery
