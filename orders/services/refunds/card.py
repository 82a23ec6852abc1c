"""Refunds of card orders: a state machine around the Stripe call, so the books and Stripe never diverge.

1. `_record`: under the merchant's wallet and the order's locks, check and
   write the refund PENDING, and commit.
2. `refund_at_gateway`: ask Stripe, with no lock held and no transaction open,
   for a refund whose idempotency key and metadata are our refund's id.
3. `refund_settle`: under the locks again, post the journal and mark it
   SUCCEEDED, or mark it FAILED when Stripe refused. What books nothing (a
   failure, the return of a late payment) holds the order's lock alone.

A PENDING refund whose Stripe outcome is unknown (a timeout) is finished by the
same request sent again, by Stripe's refund events (`order_refunds_sync`), or
by `reconcile --gateway --fix`, each of which looks for it at Stripe before
asking again. A refund made at Stripe itself (its dashboard) is recorded from
the same events, once, as a SUCCEEDED refund with the same journal.
"""

from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from core import gateway
from core.money import to_minor_units
from orders.exceptions import InvalidOrderState
from orders.locks import LockSequence
from orders.models import Order, Refund, RefundKind, RefundStatus, StatusChangeSource
from orders.selectors import order_get
from orders.services.refunds.rules import book_refund, left_to_refund, lock_for_booking, new_refund, refund_share
from wallets.exceptions import InsufficientFunds
from wallets.models import WalletKind
from wallets.services import system_wallet

# Stripe refund statuses that have not settled yet (card refunds are usually immediate).
_GATEWAY_IN_PROGRESS = ("pending", "requires_action")

# The reason recorded on a refund made in Stripe's dashboard, which no one here asked for.
MADE_AT_STRIPE = "Refunded at Stripe"


def refund_card_order(*, order_id: UUID, actor, amount, reason: str, source: str, request_key: str) -> Refund:
    """Refund `amount` of a card order at Stripe (see the module docstring); return the refund as it ended.

    Stripe refusing → the refund FAILED and `GatewayError` (502); Stripe not
    answering → the refund stays PENDING and `GatewayError` (502): the same
    request (the same `request_key`) sent again resumes it.
    """
    refund, resumed = _record(
        order_id=order_id, actor=actor, amount=amount, reason=reason, source=source, request_key=request_key
    )
    return refund_at_gateway(refund_id=refund.id, resume=resumed)


def _record(*, order_id: UUID, actor, amount, reason: str, source: str, request_key: str) -> tuple[Refund, bool]:
    """Write a PENDING card refund and commit it; or return the one this request asked for before (resumed)."""
    order = order_get(order_id=order_id)
    with transaction.atomic():
        locks = LockSequence()
        merchant_wallet = locks.lock_wallets(user_ids=[order.merchant_id])[order.merchant_id]
        order = locks.lock_order(order_id=order.id)
        asked = _asked_before(order=order, actor=actor, amount=amount, request_key=request_key)
        if asked is not None:
            return asked, True
        share = refund_share(order=order, amount=amount)
        if not order.payment_intent_id:
            raise InvalidOrderState("This card order has no payment to refund.")
        if merchant_wallet.balance < share.amount - share.fee:
            # Checked before Stripe is asked: once Stripe has refunded, it can no longer be refused.
            raise InsufficientFunds.for_balance(balance=merchant_wallet.balance, amount=share.amount - share.fee)
        refund = new_refund(
            order=order,
            share=share,
            status=RefundStatus.PENDING,
            actor=actor,
            source=source,
            reason=reason,
            request_key=request_key,
        )
    return refund, False


def _asked_before(*, order: Order, actor, amount, request_key: str) -> Refund | None:
    """Return the refund this request asked for before, if it did.

    With an Idempotency-Key, the refund that key asked for. Without one, a
    request for all that is left, when a PENDING refund already takes it, is
    the client's plain retry after a 502: it resumes that refund rather than
    failing with nothing left to refund.
    """
    if request_key:
        return order.refunds.filter(request_key=request_key, actor=actor).first()
    if amount is None and left_to_refund(order).amount == 0:
        return order.refunds.filter(status=RefundStatus.PENDING).last()
    return None


def refund_at_gateway(*, refund_id: UUID, resume: bool = True) -> Refund:
    """Have Stripe make a PENDING refund, with no lock held, then settle it; a settled refund is returned as is.

    `resume`: an earlier attempt may have reached Stripe, so its refund is looked
    for (by our id in its metadata) before a new one is asked for; Stripe's
    idempotency key alone expires after 24 hours.
    """
    refund = Refund.objects.select_related("order").get(id=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    order = refund.order
    try:
        found = _gateway_refund_of(refund) if resume else None
        made = found or gateway.refund_create(
            payment_intent_id=order.payment_intent_id,
            amount=refund.amount,
            idempotency_key=f"refund-{refund.id}",
            metadata={"refund_id": str(refund.id), "order_id": str(order.id)},
        )
    except gateway.GatewayBusy:
        # Not sent this time. A fresh refund was then never sent at all and fails; one
        # being resumed may have reached Stripe before, so it stays PENDING for the next try.
        if not resume:
            refund_fail(refund_id=refund.id, reason="The payment gateway was busy; the refund was not sent.")
        raise
    except gateway.GatewayError as exc:
        if not exc.outcome_unknown:
            refund_fail(refund_id=refund.id, reason=f"Stripe refused the refund: {exc.detail}")
        raise
    return refund_settle(refund_id=refund.id, gateway_refund=made)


def _gateway_refund_of(refund: Refund) -> gateway.RefundInfo | None:
    """Return Stripe's refund made for ours (named in its metadata), if one exists."""
    for made in gateway.refund_list(payment_intent_id=refund.order.payment_intent_id):
        if made.metadata.get("refund_id") == str(refund.id):
            return made
    return None


def order_refunds_sync(*, order_id: UUID, source: str = StatusChangeSource.WEBHOOK) -> list[Refund]:
    """Bring the order's refunds in line with what Stripe holds for its PaymentIntent; return those that changed.

    A Stripe refund naming one of ours settles it if it is still PENDING; one
    that names none of ours (made in Stripe's dashboard) is recorded once, as a
    SUCCEEDED refund. Runs with no lock held (Stripe's list is read first).
    """
    order = order_get(order_id=order_id)
    changed = []
    for made in gateway.refund_list(payment_intent_id=order.payment_intent_id):
        ours = Refund.objects.filter(order=order, id=gateway.metadata_uuid(made.metadata, "refund_id")).first()
        if ours is not None:
            if ours.status == RefundStatus.PENDING:
                changed.append(refund_settle(refund_id=ours.id, gateway_refund=made))
        elif made.status == "succeeded" and not Refund.objects.filter(gateway_refund_id=made.id).exists():
            changed.append(_record_made_at_stripe(order=order, made=made, source=source))
    return changed


def _record_made_at_stripe(*, order: Order, made: gateway.RefundInfo, source: str) -> Refund:
    """Record and book a refund Stripe made that we never asked for, exactly once."""
    amount = Decimal(made.amount_minor) / 100
    with transaction.atomic():
        locks = lock_for_booking(order=order)
        order = locks.order
        existing = Refund.objects.filter(gateway_refund_id=made.id).first()
        if existing is not None:
            return existing
        # What our PENDING refunds hold is not counted: Stripe refunds no more than was
        # paid, so a refund made there leaves them less to give back, not more.
        share = refund_share(order=order, amount=amount, counting_pending=False)
        refund = new_refund(
            order=order,
            share=share,
            status=RefundStatus.SUCCEEDED,
            actor=None,
            source=source,
            reason=MADE_AT_STRIPE,
            gateway_refund_id=made.id,
        )
        book_refund(
            locks=locks, refund=refund, payer_wallet=system_wallet(kind=WalletKind.GATEWAY_CLEARING), may_owe=True
        )
    return refund


def refund_settle(*, refund_id: UUID, gateway_refund: gateway.RefundInfo) -> Refund:
    """Bring a refund in line with what Stripe says of it: succeeded, failed, or still in progress."""
    if gateway_refund.status in _GATEWAY_IN_PROGRESS:
        return Refund.objects.get(id=refund_id)
    if gateway_refund.status != "succeeded":
        return refund_fail(refund_id=refund_id, reason=f"Stripe refund {gateway_refund.id} {gateway_refund.status}.")
    refund = Refund.objects.select_related("order").get(id=refund_id)
    if gateway_refund.amount_minor != to_minor_units(refund.amount):
        # Our own refund, for another amount: a bug or a manual change at Stripe. Leave it for an operator.
        raise InvalidOrderState(f"Stripe refund {gateway_refund.id} is not for {refund.amount}.")
    books = refund.kind == RefundKind.SALE
    with transaction.atomic():
        if books:
            locks = lock_for_booking(order=refund.order)
        else:
            # A late payment was never booked (its order was given up before it
            # arrived): giving it back changes the refund row alone.
            _lock_refund_row(refund)
        refund = Refund.objects.get(id=refund.id)
        if refund.status == RefundStatus.PENDING:
            refund.status, refund.settled_at = RefundStatus.SUCCEEDED, timezone.now()
            refund.gateway_refund_id = gateway_refund.id
            refund.save(update_fields=["status", "settled_at", "gateway_refund_id"])
            if books:
                clearing = system_wallet(kind=WalletKind.GATEWAY_CLEARING)
                book_refund(locks=locks, refund=refund, payer_wallet=clearing, may_owe=True)
    return refund


def refund_fail(*, refund_id: UUID, reason: str) -> Refund:
    """Mark a PENDING refund FAILED: Stripe did not (and will not) refund it. Nothing was booked."""
    refund = Refund.objects.get(id=refund_id)
    with transaction.atomic():
        # Nothing moves (no money, no units, no codes): the refund row changes alone.
        _lock_refund_row(refund)
        refund = Refund.objects.get(id=refund.id)
        if refund.status == RefundStatus.PENDING:
            refund.status, refund.settled_at, refund.failure_reason = RefundStatus.FAILED, timezone.now(), reason
            refund.save(update_fields=["status", "settled_at", "failure_reason"])
    return refund


def _lock_refund_row(refund: Refund) -> None:
    """Take what a change of `refund` that books nothing needs: its order's lock alone (see `lock_for_booking`).

    The order comes last in the global order, so taking it alone keeps the
    order; the wallets and the product row (the hot one when many buy one
    item) are left to those who move money or stock.
    """
    LockSequence().lock_order(order_id=refund.order_id)
