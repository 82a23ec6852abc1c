"""Where product rows are locked.

A product row is locked by the merchant's changes (`product_lock`) and by the
stock moves of orders: `product_take_units` takes the same row lock with its
conditional UPDATE, so a sale and a restock of one product serialize. In a
transaction that also locks wallets or an order, the product comes after the
wallets and before the order (composed in `orders.locks`).
"""

from uuid import UUID

from django.db.models import QuerySet

from catalog.exceptions import ProductNotFound
from catalog.models import Product


def product_qs_select_for_update() -> QuerySet[Product]:
    return Product.objects.select_for_update(of=("self",)).order_by("id")


def product_lock(*, product_id: UUID | str, include_deleted: bool = False) -> Product:
    """Lock and return a product (active or not), or raise `ProductNotFound`.

    Soft-deleted rows are found only with `include_deleted`: orders return units
    to the product they came from even after the merchant deleted it. The row
    stays locked until the caller's transaction ends.
    """
    products = product_qs_select_for_update().filter(id=product_id)
    if not include_deleted:
        products = products.filter(deleted_at__isnull=True)
    product = products.first()
    if product is None:
        raise ProductNotFound()
    return product
