"""The payments webhook inbox: verify, store once, process once in the worker; call Stripe only after the commit.

Every verified event is stored by its provider id and answered at once; its
processing is a task (`orders.tasks`), and `webhook_events_sweep` queues again
any event still RECEIVED a while later (the broker was down, a worker died). A
redelivery finds the stored event and does nothing twice. Processing takes the event row's
lock first (then the usual wallets → product → order), which serialises
concurrent deliveries of one event. What processing must ask of Stripe (cancel
a failed payment's intent, give back a late payment) runs after that
transaction has committed, with no lock held; a late-payment refund is a PENDING
refund until then, so a crash in between loses nothing (see `orders.services.refunds.card`).
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import gateway, stripe_events
from core.errors import ApplicationError
from core.queue import task_enqueue_by_name
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderStatus, StatusChangeSource, WebhookEvent, WebhookOutcome
from orders.services.card import order_complete_card_payment, order_fail, order_payment_intent_check
from orders.services.refunds.card import order_refunds_sync, refund_at_gateway

logger = logging.getLogger("paymentflow.webhooks")


@dataclass(frozen=True)
class _Handled:
    order: Order
    detail: str
    # What to ask of Stripe once the processing has committed.
    after_commit: Callable[[], Any] | None = None


def _order_for_intent(intent: Mapping[str, Any]) -> Order:
    """Return the order this intent pays: the one that recorded it, or the one its metadata names.

    The metadata is believed only for an order that has recorded no intent yet
    (a crash between creating the intent and saving its id); it is recorded then,
    so the intent becomes the order's own. An order paid by another intent is
    found and then refused by the caller's checks.
    """
    order = Order.objects.filter(payment_intent_id=intent["id"]).first()
    if order is None:
        order = Order.objects.filter(id=gateway.metadata_uuid(intent.get("metadata"), "order_id")).first()
        if order is not None and not order.payment_intent_id:
            # Record it, or a later refund of this order would have no intent to refund.
            Order.objects.filter(id=order.id, payment_intent_id__isnull=True).update(payment_intent_id=intent["id"])
            order.payment_intent_id = intent["id"]
    if order is None:
        raise OrderNotFound(f"No order for PaymentIntent {intent['id']}.")
    return order


def _on_payment_succeeded(intent: Mapping[str, Any]) -> _Handled:
    order = _order_for_intent(intent)
    outcome = order_complete_card_payment(
        order_id=order.id,
        payment_intent_id=intent["id"],
        amount_minor=intent["amount_received"],
        currency=intent["currency"],
    )
    refund = outcome.late_refund
    return _Handled(order, outcome.detail, (lambda: refund_at_gateway(refund_id=refund.id)) if refund else None)


def _on_payment_failed(intent: Mapping[str, Any]) -> _Handled:
    order = _order_for_intent(intent)
    order_payment_intent_check(order=order, payment_intent_id=intent["id"])
    error = (intent.get("last_payment_error") or {}).get("message") or "Card payment failed"
    order = order_fail(order_id=order.id, reason=str(error)[:500], source=StatusChangeSource.WEBHOOK)
    cancel = None
    if order.status == OrderStatus.FAILED:
        # A declined attempt is not final at Stripe: the buyer could pay the same
        # intent with another card for an order that no longer holds its units.
        # Cancelled after the commit; should that fail, a later success is refunded as a late payment.
        def cancel():
            gateway.payment_intent_cancel(payment_intent_id=intent["id"])

    return _Handled(order, f"Order is {order.status}: {error}", cancel)


def _on_charge_refunded(charge: Mapping[str, Any]) -> _Handled:
    """A refund of this charge changed at Stripe: settle ours from Stripe's list, after the commit."""
    # .get: an event stored before the checks of webhook_receive existed may lack it.
    payment_intent_id = charge.get("payment_intent")
    order = Order.objects.filter(payment_intent_id=payment_intent_id).first() if payment_intent_id else None
    if order is None:
        raise OrderNotFound(f"No order for PaymentIntent {payment_intent_id}.")
    return _Handled(order, "Refunds matched with Stripe's.", lambda: order_refunds_sync(order_id=order.id))


HANDLERS: dict[str, Callable[[Mapping[str, Any]], _Handled]] = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_charge_refunded,
}

# The fields of each handled event's object that its handler reads, and their JSON types.
_INTENT_FIELDS = {"id": str, "currency": str}
_FIELDS = {
    "payment_intent.succeeded": {**_INTENT_FIELDS, "amount_received": int},
    "payment_intent.payment_failed": _INTENT_FIELDS,
    # A charge names its PaymentIntent; a refund (charge.refund.updated) does too.
    "charge.refunded": {"id": str, "payment_intent": str},
    "charge.refund.updated": {"id": str, "payment_intent": str},
}


def _malformed_reason(event: stripe_events.SignedEvent) -> str | None:
    """Return why a handled event cannot be applied as sent (a missing or mistyped field), else None."""
    if event.type not in HANDLERS:
        return None
    data_object = event.data_object
    if data_object is None:
        return "The event has no data object."
    for name, kind in _FIELDS[event.type].items():
        value = data_object.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            return f"The {event.type.split('.')[0]} has no valid `{name}`."
    if not isinstance(data_object.get("metadata") or {}, dict):
        return "The object's `metadata` is not an object."
    return None


def webhook_receive(*, payload: bytes, signature_header: str | None) -> WebhookEvent:
    """Verify a delivery, store its event once, and queue its processing (unless it is done)."""
    event = stripe_events.webhook_event_from_request(payload=payload, signature_header=signature_header)
    # Signed is not the same as well formed: an event we could never apply is
    # refused (400) rather than stored to fail on every redelivery.
    if reason := _malformed_reason(event):
        raise stripe_events.WebhookEventMalformed(reason)
    try:
        record, _created = WebhookEvent.objects.get_or_create(
            event_id=event.id, defaults={"type": event.type, "payload": event.payload}
        )
    except IntegrityError:
        # A concurrent delivery of the same event inserted it first.
        record = WebhookEvent.objects.get(event_id=event.id)
    if record.outcome not in (WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED):
        webhook_event_enqueue(event_pk=record.pk)
    return record


def webhook_event_enqueue(*, event_pk: int) -> None:
    """Queue the processing of a stored event (from the view, the admin's reprocess, the sweep)."""
    task_enqueue_by_name("orders.webhook_event_process", event_pk=event_pk)


# An event still RECEIVED this long after it arrived was not queued, or its worker died.
SWEEP_AFTER = timedelta(minutes=2)


def webhook_events_sweep(*, limit: int = 500) -> int:
    """Queue again the events left RECEIVED past `SWEEP_AFTER`; return how many."""
    stale = list(
        WebhookEvent.objects.filter(outcome=WebhookOutcome.RECEIVED, received_at__lte=timezone.now() - SWEEP_AFTER)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_pk in stale:
        webhook_event_enqueue(event_pk=event_pk)
    if stale:
        logger.info("Webhook sweep queued %s event(s) still RECEIVED", len(stale))
    return len(stale)


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Apply a stored event unless it already was; record the outcome for operators.

    Run by the worker; also how an operator's reprocess of a FAILED (or never
    processed) event ends once its cause is fixed. A domain error (unknown
    order, amount mismatch) is recorded as FAILED with its reason; anything
    unexpected propagates (the task fails, logged) and the event stays RECEIVED
    for the sweep to queue again.
    """
    after_commit = None
    with transaction.atomic():
        record = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if record.outcome in (WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED):
            return record
        record.attempts += 1
        handler = HANDLERS.get(record.type)
        if handler is None:
            record.outcome, record.detail = WebhookOutcome.IGNORED, "Event type not handled."
        else:
            try:
                with transaction.atomic():
                    handled = handler(record.payload["data"]["object"])
                record.order, record.detail, after_commit = handled.order, handled.detail, handled.after_commit
                record.outcome = WebhookOutcome.PROCESSED
            except ApplicationError as exc:
                logger.warning("Webhook event %s failed: %s", record.event_id, exc.detail)
                record.outcome, record.detail = WebhookOutcome.FAILED, exc.detail
        record.processed_at = timezone.now()
        record.save(update_fields=["order", "outcome", "detail", "attempts", "processed_at"])
    if after_commit is not None:
        try:
            after_commit()
        except (gateway.GatewayError, gateway.GatewayUnavailable) as exc:
            # The event is processed; what Stripe did not do now is finished by
            # `reconcile --gateway --fix` (a PENDING refund) or refunded later (a live intent).
            logger.warning("After webhook event %s, Stripe did not answer: %s", record.event_id, exc.detail)
    return record


def webhook_event_dismiss(*, event_pk: int, operator) -> WebhookEvent:
    """Mark a FAILED event IGNORED: an operator has looked at it and settled its cause by other means.

    Its detail keeps the reason it failed; the operator is named after it.
    """
    with transaction.atomic():
        record = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if record.outcome == WebhookOutcome.FAILED:
            record.outcome = WebhookOutcome.IGNORED
            record.detail = f"{record.detail} (dismissed by {operator})"[:2000]
            record.save(update_fields=["outcome", "detail"])
    return record
