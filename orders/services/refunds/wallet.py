"""Refunds of wallet orders: one transaction, under the buyer's and merchant's wallets, the product and the order."""

from uuid import UUID

from django.db import transaction

from orders.locks import LockSequence
from orders.models import Refund, RefundStatus
from orders.selectors import order_get
from orders.services.refunds.rules import book_refund, new_refund, refund_share


@transaction.atomic
def refund_wallet_order(*, order_id: UUID, actor, amount, reason: str, source: str, request_key: str) -> Refund:
    """Give back `amount` of a wallet order at once; nothing is kept if any step refuses.

    Refunds of one order serialize on its row: each sees what the one before
    left. A merchant wallet that cannot cover its share refuses with
    InsufficientFunds; a frozen one with WalletFrozen.
    """
    order = order_get(order_id=order_id)
    locks = LockSequence()
    locks.lock_wallets(user_ids=[order.buyer_id, order.merchant_id])
    locks.lock_product(product_id=order.product_id)
    locks.lock_delivery(order_id=order.id)
    order = locks.lock_order(order_id=order.id)
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
