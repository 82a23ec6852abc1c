"""Order writes. Every money movement goes through `wallets.services.ledger_post`."""

from orders.services.purchase import order_purchase
from orders.services.refunds import order_refund

__all__ = ["order_purchase", "order_refund"]
