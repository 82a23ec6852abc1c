"""The locks of the money paths, in the one global order: wallets (by id) → product → codes → order.

Two transactions that each need several of these rows take them in this order,
so neither can hold a row the other waits for while waiting for one the other
holds: no deadlock. Each app locks its own rows (`wallets.locks`,
`catalog.locks`, `delivery.locks`, `order_qs_select_for_update` here); `LockSequence` is how an
order's money path takes them together, and it refuses a lock asked for out of
order, so the rule is enforced where it is written. On PostgreSQL the wallet
purchase takes the same locks in the same order inside one SQL function
(orders/migrations/0007_wallet_purchase_function.py). Keep the time between the
product lock and COMMIT short: it is the hot row when many buy one item.
"""

from uuid import UUID

from django.db.models import Q, QuerySet, Subquery

from catalog.locks import product_lock
from catalog.models import Product
from catalog.services import product_take_units
from delivery.locks import delivery_lock
from delivery.models import Delivery
from delivery.services.deliveries import delivery_open
from orders.models import Order
from wallets.locks import LockedWallets, wallet_qs_select_for_update, wallets_lock, wallets_lock_queryset


def order_qs_select_for_update() -> QuerySet[Order]:
    return Order.objects.select_for_update(of=("self",)).order_by("id")


class LockOrderError(RuntimeError):
    """A lock was asked for after one that comes later in the global order."""


class LockSequence:
    """The rows one money path locks in its transaction, taken in the global order.

    Each step may be skipped, none repeated or taken after a later one. What was
    locked stays available as `wallets` (for `ledger_post`), `product`,
    `delivery` (the order's delivery, before its codes), `order`.
    """

    LEVELS = ("wallets", "product", "codes", "order")

    def __init__(self) -> None:
        self._last = -1
        self.wallets = LockedWallets(())
        self.product: Product | None = None
        self.delivery: Delivery | None = None
        self.order: Order | None = None

    def _step(self, level: str) -> None:
        index = self.LEVELS.index(level)
        if index <= self._last:
            raise LockOrderError(f"Cannot lock the {level} after the {self.LEVELS[self._last]}.")
        self._last = index

    def lock_wallets(self, *, user_ids) -> LockedWallets:
        self._step("wallets")
        self.wallets = wallets_lock(user_ids=user_ids)
        return self.wallets

    def lock_buyer_and_merchant_wallets(self, *, buyer_id: UUID, product_id: UUID) -> LockedWallets:
        """Lock the buyer's wallet and that of the product's merchant, in one round trip.

        The merchant is read by a subquery of the locking statement itself, so a
        purchase needs no query before its locks. A missing or deleted product
        (or the buyer's own) leaves only the buyer's wallet locked; the caller
        tells which. The product row is not locked yet: `take_units` checks that
        its merchant is still the one whose wallet is locked here.
        """
        self._step("wallets")
        merchant = Product.objects.filter(id=product_id, deleted_at__isnull=True).values("merchant_id")[:1]
        self.wallets = wallets_lock_queryset(
            wallet_qs_select_for_update().filter(Q(user_id=buyer_id) | Q(user_id=Subquery(merchant)))
        )
        return self.wallets

    def lock_product(self, *, product_id: UUID) -> Product:
        """Lock the product an order came from, deleted or not (its units return to it)."""
        self._step("product")
        self.product = product_lock(product_id=product_id, include_deleted=True)
        return self.product

    def take_units(self, *, product_id: UUID, quantity: int) -> Product:
        """Take units from stock: the conditional UPDATE takes the product's row lock."""
        self._step("product")
        self.product = product_take_units(product_id=product_id, quantity=quantity)
        return self.product

    def open_delivery(self, *, order_id: UUID, buyer, product: Product, quantity: int, paid: bool) -> Delivery:
        """Write a new order's delivery, taking its codes under the product lock taken just before."""
        self._step("codes")
        self.delivery = delivery_open(order_id=order_id, buyer=buyer, product=product, quantity=quantity, paid=paid)
        return self.delivery

    def lock_delivery(self, *, order_id: UUID) -> Delivery:
        """Lock an order's delivery: every change of the order's codes holds it."""
        self._step("codes")
        self.delivery = delivery_lock(order_id=order_id)
        return self.delivery

    def lock_order(self, *, order_id: UUID) -> Order:
        self._step("order")
        self.order = order_qs_select_for_update().get(id=order_id)
        return self.order
