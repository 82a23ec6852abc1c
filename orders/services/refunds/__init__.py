"""Refunds of orders, whole or in parts, made here or at Stripe.

- `rules.py`: who may refund, what is left to refund, the platform fee's share
  of a refund, and how a refund is booked (its locks, its journal, the order's status).
- `wallet.py`: refunds of wallet orders, in one transaction.
- `card.py`: refunds of card orders, a state machine around the Stripe call;
  and the refunds made at Stripe itself (its dashboard), recorded from its events.

`order_refund` is the entry of the API and both back offices.
"""

from uuid import UUID

from orders.models import Order, PaymentMethod, StatusChangeSource
from orders.services.refunds.card import refund_card_order
from orders.services.refunds.rules import order_for_refund
from orders.services.refunds.wallet import refund_wallet_order


def order_refund(
    *,
    order_id: UUID,
    actor,
    amount=None,
    reason: str = "",
    source: str = StatusChangeSource.API,
    request_key: str = "",
) -> Order:
    """Refund `amount` of a COMPLETED or PARTIALLY_REFUNDED order (all that is left when None).

    The order is PARTIALLY_REFUNDED until its refunds reach its total, then
    REFUNDED with its units back in stock. `request_key` (the request's
    Idempotency-Key) names the request: sent again, it resumes its own refund.
    """
    order = order_for_refund(order_id=order_id, actor=actor)
    refund = dict(order_id=order.id, actor=actor, amount=amount, reason=reason, source=source, request_key=request_key)
    if order.payment_method == PaymentMethod.WALLET:
        refund_wallet_order(**refund)
    else:
        refund_card_order(**refund)
    return Order.objects.get(id=order.id)
