"""Full refunds of completed orders."""

from uuid import UUID

from django.db import transaction

from catalog.selectors import product_get_for_update
from catalog.services import product_release_units
from orders.exceptions import InvalidOrderState, OrderNotFound, RefundNotAllowed
from orders.models import Order, OrderStatus, PaymentMethod, StatusChangeSource
from orders.services.history import order_transition
from orders.services.purchase import sale_legs
from wallets.models import JournalKind
from wallets.services import ledger_post, wallet_lock


def _order_for_refund(*, order_id: UUID, actor) -> Order:
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise OrderNotFound()
    if actor.is_staff or order.merchant_id == actor.id:
        return order
    # The buyer may see the order, so telling them "not allowed" leaks nothing;
    # anyone else must not learn that the id exists.
    if order.buyer_id == actor.id:
        raise RefundNotAllowed()
    raise OrderNotFound()


def order_refund(*, order_id: UUID, actor, source: str = StatusChangeSource.API, reason: str = "") -> Order:
    """Refund a COMPLETED order in full: money back to the buyer, units back to stock."""
    order = _order_for_refund(order_id=order_id, actor=actor)
    if order.payment_method != PaymentMethod.WALLET:
        raise InvalidOrderState("Card payments are refunded through the payment gateway.")
    with transaction.atomic():
        # The global lock order: wallets, then the product, then the order row.
        wallets = wallet_lock(user_ids=[order.buyer_id, order.merchant_id])
        product_get_for_update(product_id=order.product_id, include_deleted=True)
        order = Order.objects.select_for_update().get(id=order.id)
        if order.status != OrderStatus.COMPLETED:
            raise InvalidOrderState(f"Only COMPLETED orders can be refunded; this one is {order.status}.")
        product_release_units(product_id=order.product_id, quantity=order.quantity)
        # Raises InsufficientFunds if the merchant's wallet cannot cover the reversal.
        ledger_post(
            kind=JournalKind.REFUND,
            legs=sale_legs(
                buyer_wallet=wallets[order.buyer_id],
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
    return order
