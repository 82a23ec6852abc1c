"""Refunds: of wallet orders in one transaction; of card orders as a state machine around the Stripe call.

A card refund never lets the books and Stripe diverge, whatever crashes or
times out (docs/architecture.md, Concurrency rules):

1. `_record_card_refund`: under the merchant's wallet and the order's locks,
   check and write the refund PENDING, and commit.
2. `refund_at_gateway`: ask Stripe, with no lock held and no transaction open,
   for a refund whose idempotency key and metadata are our refund's id.
3. `refund_settle`: under the locks again, post the journal and mark it
   SUCCEEDED, or mark it FAILED when Stripe refused.

A PENDING refund whose Stripe outcome is unknown (a timeout) is finished by a
retry of the request, by Stripe's event, or by `reconcile --gateway --fix`,
each of which looks for the refund at Stripe before asking again.
"""

from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog.services import product_release_units
from core import gateway
from core.money import to_minor_units
from orders.exceptions import InvalidOrderState, OrderNotFound, RefundNotAllowed
from orders.locks import LockSequence
from orders.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundKind,
    RefundStatus,
    StatusChangeSource,
)
from orders.selectors import order_get
from orders.services.history import order_transition
from orders.services.legs import refund_legs
from wallets.exceptions import InsufficientFunds
from wallets.models import JournalKind, WalletKind
from wallets.services import ledger_post, system_wallet

REFUND_PERMISSION = "orders.refund_order"

# Stripe refund statuses that have not settled yet (card refunds are usually immediate).
_GATEWAY_IN_PROGRESS = ("pending", "requires_action")


def refund_allowed_for_any_order(user) -> bool:
    """Return whether `user` is an operator who may refund any order: staff, not a MERCHANT, with the permission."""
    return user.is_operator and user.has_perm(REFUND_PERMISSION)


def refund_allowed(*, user, order: Order) -> bool:
    """The one refund rule of the API and both back offices: the selling merchant, or such an operator."""
    return order.merchant_id == user.id or refund_allowed_for_any_order(user)


def _order_for_refund(*, order_id: UUID, actor) -> Order:
    order = order_get(order_id=order_id)
    if refund_allowed(user=actor, order=order):
        return order
    # The buyer may see the order, so telling them "not allowed" leaks nothing;
    # anyone else must not learn that the id exists.
    if order.buyer_id == actor.id:
        raise RefundNotAllowed()
    raise OrderNotFound()


def order_refund(*, order_id: UUID, actor, source: str = StatusChangeSource.API, reason: str = "") -> Order:
    """Refund a COMPLETED order in full: money back to the buyer, units back to stock.

    WALLET orders credit the buyer's wallet in one transaction. Card orders are
    refunded at Stripe by the state machine above; if Stripe refuses, the refund
    is FAILED and a `GatewayError` is raised (502), and if Stripe cannot be
    reached the refund stays PENDING (the same call again resumes it).
    """
    order = _order_for_refund(order_id=order_id, actor=actor)
    if order.payment_method == PaymentMethod.WALLET:
        _refund_wallet_order(order_id=order.id, actor=actor, source=source, reason=reason)
    else:
        refund, resumed = _record_card_refund(order_id=order.id, actor=actor, source=source, reason=reason)
        refund_at_gateway(refund_id=refund.id, resume=resumed)
    return Order.objects.get(id=order.id)


def _refundable(order: Order) -> None:
    if order.status != OrderStatus.COMPLETED:
        raise InvalidOrderState(f"Only COMPLETED orders can be refunded; this one is {order.status}.")


def _new_refund(*, order: Order, status: str, actor, source: str, reason: str, kind: str = RefundKind.SALE) -> Refund:
    settled = status != RefundStatus.PENDING
    return Refund.objects.create(
        order=order,
        kind=kind,
        amount=order.total_amount,
        fee_amount=order.fee_amount if kind == RefundKind.SALE else Decimal(0),
        status=status,
        actor=actor,
        source=source,
        reason=reason[:500],
        settled_at=timezone.now() if settled else None,
    )


@transaction.atomic
def _refund_wallet_order(*, order_id: UUID, actor, source: str, reason: str) -> Refund:
    order = order_get(order_id=order_id)
    locks = LockSequence()
    locks.lock_wallets(user_ids=[order.buyer_id, order.merchant_id])
    locks.lock_product(product_id=order.product_id)
    order = locks.lock_order(order_id=order.id)
    _refundable(order)
    refund = _new_refund(order=order, status=RefundStatus.SUCCEEDED, actor=actor, source=source, reason=reason)
    # Raises InsufficientFunds if the merchant's wallet cannot cover its share: nothing is kept.
    _book_refund(locks=locks, refund=refund, payer_wallet=locks.wallets[order.buyer_id], may_owe=False)
    return refund


def _record_card_refund(*, order_id: UUID, actor, source: str, reason: str) -> tuple[Refund, bool]:
    """Write a PENDING card refund and commit it; or return the PENDING one a failed attempt left (resumed)."""
    order = order_get(order_id=order_id)
    with transaction.atomic():
        locks = LockSequence()
        merchant_wallet = locks.lock_wallets(user_ids=[order.merchant_id])[order.merchant_id]
        order = locks.lock_order(order_id=order.id)
        pending = order.refunds.filter(status=RefundStatus.PENDING, kind=RefundKind.SALE).first()
        if pending is not None:
            return pending, True
        _refundable(order)
        if not order.payment_intent_id:
            raise InvalidOrderState("This card order has no payment to refund.")
        share = order.total_amount - order.fee_amount
        if merchant_wallet.balance < share:
            # Checked before Stripe is asked: once Stripe has refunded, it can no longer be refused.
            raise InsufficientFunds(f"Wallet balance {merchant_wallet.balance} is less than {share}.")
        refund = _new_refund(order=order, status=RefundStatus.PENDING, actor=actor, source=source, reason=reason)
    return refund, False


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


def order_refunds_sync(*, order_id: UUID) -> list[Refund]:
    """Settle the order's PENDING refunds from what Stripe holds for its PaymentIntent (Stripe's refund events).

    Each Stripe refund names ours in its metadata; one that Stripe reports and
    we still have PENDING is settled as Stripe says. Runs with no lock held.
    """
    order = order_get(order_id=order_id)
    settled = []
    for made in gateway.refund_list(payment_intent_id=order.payment_intent_id):
        ours = Refund.objects.filter(order=order, id=_uuid_or_none(made.metadata.get("refund_id"))).first()
        if ours is not None and ours.status == RefundStatus.PENDING:
            settled.append(refund_settle(refund_id=ours.id, gateway_refund=made))
    return settled


def _uuid_or_none(value) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


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
    with transaction.atomic():
        locks, refund = _lock_refund(refund)
        if refund.status == RefundStatus.PENDING:
            if refund.kind == RefundKind.SALE:
                clearing = system_wallet(kind=WalletKind.GATEWAY_CLEARING)
                _book_refund(locks=locks, refund=refund, payer_wallet=clearing, may_owe=True)
            refund.status, refund.settled_at = RefundStatus.SUCCEEDED, timezone.now()
            refund.gateway_refund_id = gateway_refund.id
            refund.save(update_fields=["status", "settled_at", "gateway_refund_id"])
    return refund


def refund_fail(*, refund_id: UUID, reason: str) -> Refund:
    """Mark a PENDING refund FAILED: Stripe did not (and will not) refund it. Nothing was booked."""
    refund = Refund.objects.select_related("order").get(id=refund_id)
    with transaction.atomic():
        _locks, refund = _lock_refund(refund)
        if refund.status == RefundStatus.PENDING:
            refund.status, refund.settled_at, refund.failure_reason = RefundStatus.FAILED, timezone.now(), reason
            refund.save(update_fields=["status", "settled_at", "failure_reason"])
    return refund


def _lock_refund(refund: Refund) -> tuple[LockSequence, Refund]:
    """Take what settling `refund` needs, in the global order; every change of a refund holds its order's lock."""
    order = refund.order
    locks = LockSequence()
    locks.lock_wallets(user_ids=[order.merchant_id])
    if refund.kind == RefundKind.SALE:
        locks.lock_product(product_id=order.product_id)
    locks.lock_order(order_id=order.id)
    return locks, Refund.objects.select_related("order").get(id=refund.id)


def _book_refund(*, locks: LockSequence, refund: Refund, payer_wallet, may_owe: bool) -> None:
    """Post a sale refund's journal and move its order to REFUNDED (under `locks`).

    `may_owe`: the refund was made at Stripe and cannot be refused, so a
    merchant balance below its share is booked as a receivable instead of
    refusing (see `refund_legs`).
    """
    order = locks.order
    merchant_wallet = locks.wallets[order.merchant_id]
    share = refund.amount - refund.fee_amount
    shortfall = max(share - merchant_wallet.balance, Decimal(0)) if may_owe else Decimal(0)
    ledger_post(
        wallets=locks.wallets,
        kind=JournalKind.REFUND,
        legs=refund_legs(
            payer_wallet=payer_wallet,
            merchant_wallet=merchant_wallet,
            amount=refund.amount,
            fee=refund.fee_amount,
            merchant_shortfall=shortfall,
        ),
        description=f"Refund of order {order.id}",
        order_id=order.id,
        # Money Stripe has already given back is booked even on a frozen merchant wallet.
        allow_frozen=may_owe,
    )
    product_release_units(product_id=order.product_id, quantity=order.quantity)
    order_transition(
        order=order,
        to_status=OrderStatus.REFUNDED,
        source=refund.source,
        actor=refund.actor,
        reason=refund.reason or "Refunded",
    )
