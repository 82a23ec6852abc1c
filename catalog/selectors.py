"""Product reads: the public catalogue and a merchant's own list."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from catalog.exceptions import NotProductOwner, ProductNotFound
from catalog.models import PUBLIC, Product

# Wire value of `ordering` → ORDER BY. Every ordering ends on unique columns so
# pages never overlap or skip rows when values tie.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "-createdAt": ("-created_at", "-id"),
    "createdAt": ("created_at", "id"),
    "price": ("price", "-created_at", "-id"),
    "-price": ("-price", "-created_at", "-id"),
    "name": ("name", "-created_at", "-id"),
}
DEFAULT_ORDERING = "-createdAt"


def product_get_public(*, product_id: uuid.UUID | str) -> Product:
    """Return an active, non-deleted product, or raise `ProductNotFound`."""
    product = Product.objects.filter(PUBLIC, id=product_id).first()
    if product is None:
        raise ProductNotFound()
    return product


def product_list_public(*, filters: Mapping[str, Any]) -> QuerySet[Product]:
    """Return active, non-deleted products matching validated `filters`, ordered.

    Keys (all optional): `search`, `min_price`, `max_price`, `merchant_id`,
    `in_stock`, `ordering` (a key of `ORDERINGS`).
    """
    queryset = Product.objects.filter(PUBLIC)
    if search := filters.get("search"):
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if (min_price := filters.get("min_price")) is not None:
        queryset = queryset.filter(price__gte=min_price)
    if (max_price := filters.get("max_price")) is not None:
        queryset = queryset.filter(price__lte=max_price)
    if (merchant_id := filters.get("merchant_id")) is not None:
        queryset = queryset.filter(merchant_id=merchant_id)
    if (in_stock := filters.get("in_stock")) is not None:
        queryset = queryset.filter(available_units__gt=0) if in_stock else queryset.filter(available_units=0)
    return queryset.order_by(*ORDERINGS[filters.get("ordering") or DEFAULT_ORDERING])


def product_list_for_merchant(*, merchant: User) -> QuerySet[Product]:
    """Return a merchant's own products, inactive included, deleted excluded, newest first."""
    return Product.objects.filter(merchant=merchant, deleted_at__isnull=True).order_by("-created_at", "-id")


def product_get_owned(
    *, product_id: uuid.UUID | str, merchant: User, products: QuerySet[Product] | None = None
) -> Product:
    """Return a non-deleted product of `merchant`: missing or deleted is 404 for everyone, then ownership 403.

    The one owner rule of the merchant's product routes, reads and writes alike;
    a write passes a locking queryset as `products` (`product_lock_owned`).
    """
    products = Product.objects.all() if products is None else products
    product = products.filter(id=product_id, deleted_at__isnull=True).first()
    if product is None:
        raise ProductNotFound()
    if product.merchant_id != merchant.id:
        raise NotProductOwner()
    return product
