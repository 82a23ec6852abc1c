"""The payments webhook inbox: verify, store once, process once.

Every verified event is stored by its provider id before it is processed, so
a redelivery finds it and does nothing twice. Processing takes the event row's
lock first (then the usual wallets → product → order), which serialises
concurrent deliveries of one event.
"""

import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import gateway
from core.errors import ApplicationError
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderStatus, StatusChangeSource, WebhookEvent, WebhookOutcome
from orders.services.card import order_complete_card_payment, order_fail

logger = logging.getLogger("paymentflow.webhooks")


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _order_for_intent(intent: dict) -> Order:
    order = Order.objects.filter(payment_intent_id=intent["id"]).first()
    if order is None:
        # The intent's metadata names its order even if its id was never stored
        # (a crash between creating the intent and saving its id).
        order = Order.objects.filter(id=_uuid_or_none((intent.get("metadata") or {}).get("order_id"))).first()
        if order is not None and not order.payment_intent_id:
            # Record it, or a later refund of this order would have no intent to refund.
            Order.objects.filter(id=order.id, payment_intent_id__isnull=True).update(payment_intent_id=intent["id"])
            order.payment_intent_id = intent["id"]
    if order is None:
        raise OrderNotFound(f"No order for PaymentIntent {intent['id']}.")
    return order


def _on_payment_succeeded(intent: dict) -> tuple[Order, str]:
    order = _order_for_intent(intent)
    detail = order_complete_card_payment(
        order_id=order.id,
        amount_minor=int(intent.get("amount_received") or intent["amount"]),
        currency=intent["currency"],
    )
    return order, detail


def _on_payment_failed(intent: dict) -> tuple[Order, str]:
    order = _order_for_intent(intent)
    error = (intent.get("last_payment_error") or {}).get("message") or "Card payment failed"
    order = order_fail(order_id=order.id, reason=error, source=StatusChangeSource.WEBHOOK)
    if order.status == OrderStatus.FAILED and order.payment_intent_id:
        # A declined attempt is not final at Stripe: the buyer could pay the same
        # intent with another card for an order that no longer holds its units.
        # Cancel it; should that fail, a later success is refunded as a late payment.
        try:
            gateway.payment_intent_cancel(payment_intent_id=order.payment_intent_id)
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            logger.warning("Could not cancel the PaymentIntent of failed order %s", order.id)
    return order, f"Order is {order.status}: {error}"


HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
}


def webhook_receive(*, payload: bytes, signature_header: str | None) -> WebhookEvent:
    """Verify a delivery, store its event once, and process it (a no-op if it was already)."""
    event = gateway.webhook_event_from_request(payload=payload, signature_header=signature_header)
    # Signed is not the same as well formed: an event we could never apply is
    # refused (400) rather than stored to fail on every redelivery.
    if event.type in HANDLERS and event.data_object is None:
        raise gateway.WebhookEventMalformed()
    try:
        record, _created = WebhookEvent.objects.get_or_create(
            event_id=event.id, defaults={"type": event.type, "payload": event.payload}
        )
    except IntegrityError:
        # A concurrent delivery of the same event inserted it first.
        record = WebhookEvent.objects.get(event_id=event.id)
    return webhook_event_process(event_pk=record.pk)


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Apply a stored event unless it already was; record the outcome for operators.

    Also how an operator processes a FAILED (or never processed) event again
    once its cause is fixed. A domain error (unknown order, amount mismatch,
    gateway down during a refund) is recorded as FAILED with its reason;
    anything unexpected propagates (500), so the provider retries the delivery
    later and the event stays RECEIVED.
    """
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
                    record.order, record.detail = handler(record.payload["data"]["object"])
                record.outcome = WebhookOutcome.PROCESSED
            except ApplicationError as exc:
                logger.warning("Webhook event %s failed: %s", record.event_id, exc.detail)
                record.outcome, record.detail = WebhookOutcome.FAILED, exc.detail
        record.processed_at = timezone.now()
        record.save(update_fields=["order", "outcome", "detail", "attempts", "processed_at"])
    return record
