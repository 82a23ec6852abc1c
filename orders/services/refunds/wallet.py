"""Refunds of wallet orders: one transaction, under the buyer's and merchant's wallets, the product and the order."""

from uuid import UUID

from django.db import transaction

from orders.models import Refund, RefundStatus
from orders.selectors import order_get
from orders.services.refunds.rules import book_refund, lock_for_booking, new_refund, refund_share


@transaction.atomic
def refund_wallet_order(*, order_id: UUID, actor, amount, reason: str, source: str, request_key: str) -> Refund:
    """Give back `amount` of a wallet order at once; nothing is kept if any step refuses.

    Refunds of one order serialize on its row: each sees what the one before
    left. A merchant wallet that cannot cover its share refuses with
    InsufficientFunds; a frozen one with WalletFrozen.
    """
    locks = lock_for_booking(order=order_get(order_id=order_id), buyer_pays=True)
    order = locks.order
    share = refund_share(order=order, amount=amount)
    refund = new_refund(
        order=order,
        share=share,
        status=RefundStatus.SUCCEEDED,
        actor=actor,
        source=source,
        reason=reason,
        request_key=request_key,
    )
    book_refund(locks=locks, refund=refund, payer_wallet=locks.wallets[order.buyer_id], may_owe=False)
    return refund
