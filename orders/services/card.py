"""The life of a card (GATEWAY) order after its PaymentIntent exists.

Locks are taken through `orders.locks.LockSequence` (the global order). Calls
to the gateway that must not be repeated carry Stripe idempotency keys derived
from the order id, so a retry after a crash cannot refund twice.
"""

import logging
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction

from catalog.services import product_release_units
from core import gateway
from core.money import to_minor_units
from core.outbox import EventType
from delivery.services.deliveries import delivery_complete, delivery_release
from orders.events import RELEASE_EVENTS, order_event_emit
from orders.exceptions import PaymentMismatch
from orders.locks import LockSequence
from orders.models import Order, OrderStatus, Refund, RefundKind, RefundStatus, StatusChangeSource
from orders.selectors import order_get
from orders.services.history import order_transition
from orders.services.legs import sale_legs
from wallets.models import JournalKind, WalletKind
from wallets.services import ledger_post, system_wallet

logger = logging.getLogger("paymentflow.orders")

# PaymentIntent states in which the customer's money may still arrive: such an
# order is left for the webhook rather than expired.
PAYMENT_IN_FLIGHT = ("succeeded", "processing", "requires_capture")


def _release_pending(*, order_id: UUID, to_status: str, reason: str, source: str, actor=None) -> Order:
    """Move a PENDING order to FAILED or EXPIRED and return its units; leave any other order alone."""
    with transaction.atomic():
        locks = LockSequence()
        locks.lock_product(product_id=order_get(order_id=order_id).product_id)
        delivery = locks.lock_delivery(order_id=order_id)
        order = locks.lock_order(order_id=order_id)
        if order.status == OrderStatus.PENDING:
            # Reserved codes go back to the pool with their units (they were never shown).
            delivery_release(delivery=delivery)
            product_release_units(product_id=order.product_id, quantity=order.quantity)
            order_transition(order=order, to_status=to_status, source=source, actor=actor, reason=reason)
            order_event_emit(event_type=RELEASE_EVENTS[to_status], order=order)
    return order


def order_fail(*, order_id: UUID, reason: str, source: str, actor=None) -> Order:
    """Fail a PENDING card order (payment refused, gateway error) and release its units."""
    return _release_pending(order_id=order_id, to_status=OrderStatus.FAILED, reason=reason, source=source, actor=actor)


def order_expire(*, order_id: UUID, source: str = StatusChangeSource.COMMAND) -> Order:
    """Expire an unpaid card order: cancel its PaymentIntent, then release its units.

    The intent is cancelled first so it can no longer be paid. If its money is
    already on the way (succeeded/processing) the order is left PENDING for the
    webhook to complete. If the gateway cannot be reached the order expires
    anyway: a payment that still succeeds later is refunded by the webhook.
    """
    order = order_get(order_id=order_id)
    if order.status != OrderStatus.PENDING:
        return order
    if order.payment_intent_id:
        try:
            intent = gateway.payment_intent_retrieve(payment_intent_id=order.payment_intent_id)
            if intent.status in PAYMENT_IN_FLIGHT:
                return order
            gateway.payment_intent_cancel(payment_intent_id=order.payment_intent_id)
        except gateway.PaymentIntentNotCancelable:
            # Paid between our look and the cancel: the webhook completes it.
            return order
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            logger.warning("Could not cancel PaymentIntent of order %s; expiring it anyway", order.id)
    return _release_pending(
        order_id=order.id, to_status=OrderStatus.EXPIRED, reason="Not paid before it expired", source=source
    )


def order_payment_intent_check(*, order: Order, payment_intent_id: str) -> None:
    """Refuse (`PaymentMismatch`) news of a PaymentIntent that is not the order's own: it pays or fails nothing here."""
    if payment_intent_id != order.payment_intent_id:
        raise PaymentMismatch(f"PaymentIntent {payment_intent_id} is not the one of order {order.id}.")


@dataclass(frozen=True)
class PaymentOutcome:
    """What recording a card payment did, for the webhook inbox; `late_refund` still has to be sent to Stripe."""

    detail: str
    late_refund: Refund | None = None


def order_complete_card_payment(
    *, order_id: UUID, payment_intent_id: str, amount_minor: int, currency: str
) -> PaymentOutcome:
    """Record a succeeded PaymentIntent on its order.

    Only the order's own PaymentIntent, for exactly its total and currency,
    completes it (PENDING → COMPLETED, the merchant credited from the gateway
    clearing account); anything else raises `PaymentMismatch` and changes
    nothing. An order that already failed or expired has released its units, so
    the payment is to be given back: a late-payment refund is recorded PENDING
    here and sent to Stripe by the caller once this has committed.
    """
    order = order_get(order_id=order_id)
    order_payment_intent_check(order=order, payment_intent_id=payment_intent_id)
    if amount_minor != to_minor_units(order.total_amount) or currency.upper() != order.currency.upper():
        raise PaymentMismatch(
            f"Payment of {amount_minor} {currency.upper()} (minor units) does not match order total "
            f"{order.total_amount} {order.currency}."
        )
    with transaction.atomic():
        locks = LockSequence()
        wallets = locks.lock_wallets(user_ids=[order.merchant_id])
        delivery = locks.lock_delivery(order_id=order.id)
        order = locks.lock_order(order_id=order.id)
        if order.status == OrderStatus.PENDING:
            delivery_complete(delivery=delivery)
            ledger_post(
                wallets=wallets,
                kind=JournalKind.PURCHASE,
                legs=sale_legs(
                    payer_wallet=system_wallet(kind=WalletKind.GATEWAY_CLEARING),
                    merchant_wallet=wallets[order.merchant_id],
                    total=order.total_amount,
                    fee=order.fee_amount,
                ),
                description=f"{order.quantity} x {order.product_name} (card)",
                order_id=order.id,
                # The buyer has paid: a frozen merchant wallet still records the sale
                # (and, frozen, cannot pay it out).
                allow_frozen=True,
            )
            order_transition(
                order=order,
                to_status=OrderStatus.COMPLETED,
                source=StatusChangeSource.WEBHOOK,
                reason="Card payment succeeded",
            )
            order_event_emit(event_type=EventType.ORDER_COMPLETED, order=order)
            return PaymentOutcome("Order completed; merchant credited.")
        if order.status not in (OrderStatus.FAILED, OrderStatus.EXPIRED):
            return PaymentOutcome(f"Order already {order.status}; nothing to do.")
        refund = order.refunds.filter(kind=RefundKind.LATE_PAYMENT).first() or Refund.objects.create(
            order=order,
            kind=RefundKind.LATE_PAYMENT,
            amount=order.total_amount,
            status=RefundStatus.PENDING,
            source=StatusChangeSource.WEBHOOK,
            reason="Paid after the order was given up",
        )
    return PaymentOutcome(f"Payment arrived after the order was {order.status}: refunding it.", late_refund=refund)
