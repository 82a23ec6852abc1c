"""Full refunds of completed orders, paid by wallet or by card."""

from uuid import UUID

from django.db import transaction

from catalog.services import product_release_units
from core import gateway
from orders.exceptions import InvalidOrderState, OrderNotFound, RefundNotAllowed
from orders.locks import LockSequence
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.selectors import order_get
from orders.services.history import order_transition
from orders.services.legs import sale_legs
from wallets.models import JournalKind, WalletKind
from wallets.services import ledger_post, system_wallet


def _order_for_refund(*, order_id: UUID, actor) -> Order:
    order = order_get(order_id=order_id)
    if actor.is_staff or order.merchant_id == actor.id:
        return order
    # The buyer may see the order, so telling them "not allowed" leaks nothing;
    # anyone else must not learn that the id exists.
    if order.buyer_id == actor.id:
        raise RefundNotAllowed()
    raise OrderNotFound()


def order_refund(*, order_id: UUID, actor, source: str = StatusChangeSource.API, reason: str = "") -> Order:
    """Refund a COMPLETED order in full: money back to the buyer, units back to stock.

    WALLET orders credit the buyer's wallet; card orders are refunded through
    the gateway, the journal taking the money back from the merchant into the
    gateway clearing account.
    """
    order = _order_for_refund(order_id=order_id, actor=actor)
    by_card = order.payment_method == PaymentMethod.GATEWAY
    with transaction.atomic():
        locks = LockSequence()
        wallets = locks.lock_wallets(user_ids=[order.merchant_id] if by_card else [order.buyer_id, order.merchant_id])
        locks.lock_product(product_id=order.product_id)
        order = locks.lock_order(order_id=order.id)
        if order.status != OrderStatus.COMPLETED:
            raise InvalidOrderState(f"Only COMPLETED orders can be refunded; this one is {order.status}.")
        product_release_units(product_id=order.product_id, quantity=order.quantity)
        payer = system_wallet(kind=WalletKind.GATEWAY_CLEARING) if by_card else wallets[order.buyer_id]
        # Raises InsufficientFunds if the merchant's wallet cannot cover the reversal.
        ledger_post(
            wallets=wallets,
            kind=JournalKind.REFUND,
            legs=sale_legs(
                payer_wallet=payer,
                merchant_wallet=wallets[order.merchant_id],
                total=order.total_amount,
                fee=order.fee_amount,
                sign=-1,
            ),
            description=f"Refund of order {order.id}",
            order_id=order.id,
        )
        order_transition(
            order=order, to_status=OrderStatus.REFUNDED, source=source, actor=actor, reason=reason or "Refunded"
        )
        if by_card:
            # Last, once every check above has passed: if the gateway refuses, the
            # whole refund rolls back (502). Should COMMIT fail after the gateway
            # refunded, a retry sends the same idempotency key and gets that same
            # refund back, never a second one.
            gateway.refund_create(payment_intent_id=order.payment_intent_id, idempotency_key=f"order-refund-{order.id}")
    return order
