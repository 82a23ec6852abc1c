"""Product writes: merchants' CRUD, the operators' restore, and the stock helpers orders use.

Every change schedules cache invalidation for after its commit
(`catalog.cache.product_cache_invalidate_on_commit`), so a reader can never
re-cache the state from before it.
"""

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from catalog.cache import product_cache_invalidate_on_commit
from catalog.exceptions import (
    ActivationLimitCodesOnly,
    CodesUnitsReadOnly,
    NotMerchant,
    OutOfStock,
    ProductNotFound,
    ProductUnavailable,
    TooManyUnits,
)
from catalog.locks import product_lock, product_qs_select_for_update
from catalog.models import MAX_UNITS, DeliveryKind, Product
from catalog.selectors import product_get_owned
from catalog.serializers import ProductSerializer
from core.outbox import EventType, as_api_json, outbox_emit
from core.transactions import atomic_required

# The fields a merchant may change (PATCH /products/{id}); anything else is never applied.
UPDATABLE_FIELDS = frozenset({"name", "description", "price", "available_units", "is_active", "activation_limit"})


def product_create(
    *,
    merchant: User,
    name: str,
    description: str = "",
    price: Decimal,
    available_units: int,
    is_active: bool = True,
    delivery_kind: str = DeliveryKind.NONE,
    activation_limit: int | None = None,
) -> Product:
    """Put a new product on sale for `merchant` (a MERCHANT account); a CODES product starts with no units."""
    if not merchant.is_merchant:
        raise NotMerchant()
    if delivery_kind == DeliveryKind.CODES and available_units:
        raise CodesUnitsReadOnly()
    if delivery_kind != DeliveryKind.CODES and activation_limit is not None:
        raise ActivationLimitCodesOnly()
    with transaction.atomic():
        product = Product.objects.create(
            merchant=merchant,
            name=name,
            description=description,
            price=price,
            available_units=available_units,
            units_supplied=available_units,
            is_active=is_active,
            delivery_kind=delivery_kind,
            activation_limit=activation_limit,
        )
        product_cache_invalidate_on_commit(product_id=product.id)
    return product


def product_lock_owned(*, product_id: uuid.UUID | str, merchant: User) -> Product:
    """Lock a non-deleted product of `merchant`, by the owner rule of `product_get_owned` (404, then 403)."""
    return product_get_owned(product_id=product_id, merchant=merchant, products=product_qs_select_for_update())


def product_update(*, product_id: uuid.UUID | str, merchant: User, **fields) -> Product:
    """Change some of `UPDATABLE_FIELDS` of a product owned by `merchant`.

    A change of `available_units` is a restock or a reduction by the merchant:
    `units_supplied` moves by the same delta. The row is locked first, so units
    taken by orders meanwhile wait and are never counted into that delta.
    """
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"product_update() cannot change {sorted(unknown)}")
    with transaction.atomic():
        product = product_lock_owned(product_id=product_id, merchant=merchant)
        if not fields:
            return product
        if product.delivery_kind == DeliveryKind.CODES and "available_units" in fields:
            raise CodesUnitsReadOnly()
        if product.delivery_kind != DeliveryKind.CODES and fields.get("activation_limit") is not None:
            raise ActivationLimitCodesOnly()
        update_fields = [*fields, "updated_at"]
        if "available_units" in fields:
            product.units_supplied += fields["available_units"] - product.available_units
            update_fields.append("units_supplied")
        for field, value in fields.items():
            setattr(product, field, value)
        product.save(update_fields=update_fields)
        product_cache_invalidate_on_commit(product_id=product.id)
    return product


def product_delete(*, product_id: uuid.UUID | str, merchant: User) -> None:
    """Soft-delete a product owned by `merchant`: it leaves the catalogue, the row stays for orders."""
    with transaction.atomic():
        product = product_lock_owned(product_id=product_id, merchant=merchant)
        product.deleted_at = timezone.now()
        product.save(update_fields=["deleted_at", "updated_at"])
        product_cache_invalidate_on_commit(product_id=product.id)


def product_restore(*, product_id: uuid.UUID | str) -> Product:
    """Undo a soft delete (operators only: the admin's "restore" action)."""
    with transaction.atomic():
        product = product_lock(product_id=product_id, include_deleted=True)
        if product.deleted_at is not None:
            product.deleted_at = None
            product.save(update_fields=["deleted_at", "updated_at"])
            product_cache_invalidate_on_commit(product_id=product.id)
    return product


def _take_units_sql() -> str:
    meta = Product._meta
    columns = ", ".join(f'"{field.column}"' for field in meta.concrete_fields)
    # Column and table names come from the model, never from input.
    return (
        f'UPDATE "{meta.db_table}" '  # noqa: S608
        'SET "available_units" = "available_units" - %s, "updated_at" = %s '
        'WHERE "id" = %s AND "available_units" >= %s AND "is_active" AND "deleted_at" IS NULL '
        f"RETURNING {columns}"
    )


_TAKE_UNITS_SQL = _take_units_sql()


def product_take_units(*, product_id: uuid.UUID | str, quantity: int) -> Product:
    """Take `quantity` units from stock for an order; return the product as locked and updated.

    One conditional UPDATE … RETURNING: stock can never go below zero, and the
    row stays locked until the caller's transaction ends, so the price and name
    returned are the ones the order is written with. Raises `ProductNotFound`
    (missing or deleted), `ProductUnavailable` (inactive) or `OutOfStock`.
    """
    atomic_required("product_take_units() must run inside the caller's transaction.atomic() block.")
    if quantity < 1:
        raise ValueError("quantity must be a positive number of units")
    connection = transaction.get_connection()
    pk = Product._meta.pk.get_db_prep_value(product_id, connection)
    now = Product._meta.get_field("updated_at").get_db_prep_value(timezone.now(), connection)
    updated = list(Product.objects.raw(_TAKE_UNITS_SQL, [quantity, now, pk, quantity]))
    if updated:
        product = updated[0]
        product_cache_invalidate_on_commit(product_id=product.id)
        if product.available_units == 0:
            product_sold_out_emit(product=product)
        return product

    state = Product.objects.filter(id=product_id).values_list("is_active", "deleted_at", "available_units").first()
    if state is None or state[1] is not None:
        raise ProductNotFound()
    is_active, _deleted_at, available_units = state
    if not is_active:
        raise ProductUnavailable()
    raise OutOfStock.of_units(available=available_units, requested=quantity)


def product_sold_out_emit(*, product: Product) -> None:
    """Record `product.sold_out` for a sale that took the last unit, in the sale's transaction.

    A merchant's own stock change is no event. The payload is the API's product
    object as this transaction leaves it, ready for the webhook.
    """
    outbox_emit(
        event_type=EventType.PRODUCT_SOLD_OUT, payload={"product": as_api_json(ProductSerializer(product).data)}
    )


def product_release_units(*, product_id: uuid.UUID | str, quantity: int) -> None:
    """Give `quantity` units back to stock (refund, failed or expired payment).

    Works on inactive and deleted products too: the units were taken while the
    product was on sale and simply return to it.
    """
    if quantity < 1:
        raise ValueError("quantity must be a positive number of units")
    with transaction.atomic():
        updated = Product.objects.filter(id=product_id).update(
            available_units=F("available_units") + quantity, updated_at=timezone.now()
        )
        if not updated:
            raise ProductNotFound()
        product_cache_invalidate_on_commit(product_id=product_id)


def product_supply_units(*, product: Product, quantity: int) -> None:
    """Add (or, negative, withdraw) units the merchant supplies, on a product the caller has locked.

    For the code pool of a CODES product, whose units are its AVAILABLE codes:
    both `available_units` and `units_supplied` move, as a restock would.
    """
    atomic_required("product_supply_units() must run inside the caller's transaction.atomic() block.")
    if product.available_units + quantity > MAX_UNITS:
        raise TooManyUnits(f"A product holds at most {MAX_UNITS} units.")
    Product.objects.filter(id=product.id).update(
        available_units=F("available_units") + quantity,
        units_supplied=F("units_supplied") + quantity,
        updated_at=timezone.now(),
    )
    product.refresh_from_db(fields=["available_units", "units_supplied", "updated_at"])
    product_cache_invalidate_on_commit(product_id=product.id)


def product_retire_units(*, product_id: uuid.UUID | str, quantity: int) -> None:
    """Take units an order held out of the supply for good (the codes of a refunded order are burnt).

    They do not return to stock: `units_supplied` shrinks instead, so the units
    held by live orders (`units_supplied - available_units`) stay exact.
    """
    atomic_required("product_retire_units() must run inside the caller's transaction.atomic() block.")
    if quantity < 1:
        raise ValueError("quantity must be a positive number of units")
    Product.objects.filter(id=product_id).update(units_supplied=F("units_supplied") - quantity)
