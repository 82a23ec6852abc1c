"""What every refund obeys: who may ask, how much is left, the fee's share, and how it is booked."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.utils import timezone

from catalog.models import DeliveryKind
from catalog.services import product_release_units, product_retire_units
from core.money import MoneySum, quantize
from core.outbox import EventType
from delivery.services.deliveries import delivery_revoke
from orders.events import order_event_emit
from orders.exceptions import AmountAboveRefundable, InvalidOrderState, OrderNotFound, RefundNotAllowed
from orders.locks import LockSequence
from orders.models import Order, OrderStatus, Refund, RefundKind, RefundStatus
from orders.selectors import order_get
from orders.services.history import order_transition
from orders.services.legs import refund_legs
from wallets.models import JournalKind
from wallets.services import ledger_post

REFUND_PERMISSION = "orders.refund_order"

REFUNDABLE_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED)


def refund_allowed_for_any_order(user) -> bool:
    """Return whether `user` is an operator who may refund any order: staff, not a MERCHANT, with the permission."""
    return user.is_operator and user.has_perm(REFUND_PERMISSION)


def refund_allowed(*, user, order: Order) -> bool:
    """The one refund rule of the API and both back offices: the selling merchant, or such an operator."""
    return order.merchant_id == user.id or refund_allowed_for_any_order(user)


def order_for_refund(*, order_id: UUID, actor) -> Order:
    """Return the order if `actor` may refund it; the buyer gets 403, anyone else 404 (ids do not leak)."""
    order = order_get(order_id=order_id)
    if refund_allowed(user=actor, order=order):
        return order
    if order.buyer_id == actor.id:
        raise RefundNotAllowed()
    raise OrderNotFound()


@dataclass(frozen=True)
class Share:
    """A refund's amount and the part of it that was the platform's fee."""

    amount: Decimal
    fee: Decimal


def refund_share(*, order: Order, amount: Decimal | None, counting_pending: bool = True) -> Share:
    """Return what a new refund of `amount` (None: all that is left) of `order` gives back; `order` is locked.

    What is left is the total minus the SUCCEEDED refunds of the sale and,
    unless `counting_pending` is False, the PENDING ones (their money may be on
    its way back already). The fee comes back pro rata, half-up to the cent;
    the refund that takes what is left takes exactly what is left of the fee
    too, so a fully refunded order nets to zero on every account.
    """
    if order.status not in REFUNDABLE_STATUSES:
        raise InvalidOrderState(
            f"Only COMPLETED or PARTIALLY_REFUNDED orders can be refunded; this one is {order.status}."
        )
    left = left_to_refund(order, counting_pending=counting_pending)
    amount = left.amount if amount is None else amount
    if amount <= 0 or amount > left.amount:
        raise AmountAboveRefundable(
            f"{left.amount} is left to refund of this order's {order.total_amount}; {amount} was asked."
        )
    if amount == left.amount:
        return left
    pro_rata = quantize(amount * order.fee_amount / order.total_amount)
    # Never more fee than is left of it, nor more than the refund itself (a fee near 100%).
    return Share(amount=amount, fee=min(pro_rata, left.fee, amount))


def left_to_refund(order: Order, *, counting_pending: bool = True) -> Share:
    """Return what is left to refund of the order's sale (see `refund_share`)."""
    taken = _taken(
        order,
        statuses=(RefundStatus.SUCCEEDED, RefundStatus.PENDING) if counting_pending else (RefundStatus.SUCCEEDED,),
    )
    return Share(amount=order.total_amount - taken.amount, fee=order.fee_amount - taken.fee)


def refunded(order: Order) -> Share:
    """Return what the SUCCEEDED refunds of the order's sale have given back."""
    return _taken(order, statuses=(RefundStatus.SUCCEEDED,))


def _taken(order: Order, *, statuses) -> Share:
    sums = order.refunds.filter(kind=RefundKind.SALE, status__in=statuses).aggregate(
        amount=MoneySum("amount"), fee=MoneySum("fee_amount")
    )
    return Share(amount=sums["amount"], fee=sums["fee"])


def new_refund(
    *, order: Order, share: Share, status: str, actor, source: str, reason: str, request_key: str = "", **fields
) -> Refund:
    return Refund.objects.create(
        order=order,
        kind=RefundKind.SALE,
        amount=share.amount,
        fee_amount=share.fee,
        status=status,
        actor=actor,
        source=source,
        reason=reason[:500],
        request_key=request_key[:255],
        settled_at=None if status == RefundStatus.PENDING else timezone.now(),
        **fields,
    )


def lock_for_booking(*, order: Order, buyer_pays: bool = False) -> LockSequence:
    """Take what booking a refund of `order` changes, in the global order; the locked order is `.order`.

    The merchant's wallet (and the buyer's, when the buyer's wallet is paid
    back rather than a card), the product and the delivery (a whole refund
    returns its units and revokes its codes), then the order. Every change of a
    refund holds its order's lock, so the refund's row needs none of its own.
    """
    locks = LockSequence()
    locks.lock_wallets(user_ids=[order.buyer_id, order.merchant_id] if buyer_pays else [order.merchant_id])
    locks.lock_product(product_id=order.product_id)
    locks.lock_delivery(order_id=order.id)
    locks.lock_order(order_id=order.id)
    return locks


def book_refund(*, locks: LockSequence, refund: Refund, payer_wallet, may_owe: bool) -> None:
    """Post a SUCCEEDED sale refund's journal and move its order along (`locks`: merchant, product, delivery, order).

    `may_owe`: the refund was made at Stripe and cannot be refused, so a
    merchant balance below its share is booked as a receivable instead (see
    `refund_legs`). The order becomes PARTIALLY_REFUNDED, or REFUNDED once its
    refunds reach its total: then its delivery is revoked and its units return
    to stock, except a CODES product's, whose codes were shown and are burnt.
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
    whole = refunded(order).amount == order.total_amount
    to_status = OrderStatus.REFUNDED if whole else OrderStatus.PARTIALLY_REFUNDED
    if whole:
        if locks.product.delivery_kind == DeliveryKind.CODES:
            product_retire_units(product_id=order.product_id, quantity=order.quantity)
        else:
            product_release_units(product_id=order.product_id, quantity=order.quantity)
        delivery_revoke(delivery=locks.delivery)
    if to_status != order.status:
        order_transition(
            order=order,
            to_status=to_status,
            source=refund.source,
            actor=refund.actor,
            reason=refund.reason or "Refunded",
        )
    # Every refund, partial or whole, is an order.refunded.
    order_event_emit(event_type=EventType.ORDER_REFUNDED, order=order)
