"""Where delivery rows are locked: an order's delivery, a code, and the taking of a product's codes.

In the global order (orders.locks.LockSequence) these are the "codes" level:
after the wallets and the product, before the order. Within it, a delivery
comes before its codes: every change to the codes of an order (completion,
release, refund, an operator's revocation) holds its delivery's lock, and then
writes the codes; the license API locks one code alone. Nothing locks a code
and then its delivery, so the two never wait on each other in a circle.
"""

from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from delivery.models import Code, CodeStatus, Delivery


def delivery_lock(*, order_id: UUID) -> Delivery:
    """Lock and return the delivery of an order (every order has one, written with it)."""
    return Delivery.objects.select_for_update(of=("self",)).get(order_id=order_id)


def code_qs_select_for_update() -> QuerySet[Code]:
    return Code.objects.select_for_update(of=("self",)).order_by("id")


def codes_take(*, product_id: UUID, quantity: int, delivery: Delivery, status: str) -> int:
    """Give `quantity` AVAILABLE codes of a product, oldest first, to `delivery` as `status`; return how many.

    The caller holds the product's row lock, taken by the stock UPDATE of the
    same purchase (`product_take_units`). Every allocation and every return of a
    product's codes takes that lock first, so allocations of one product run one
    at a time and this plain subquery reads codes no one else is taking: no
    SKIP LOCKED, and no retry. The outer `status = AVAILABLE` is re-checked
    under each code's row lock all the same, so a code can never be taken twice
    even if that rule were broken: the caller compares the count with `quantity`.
    """
    oldest = Code.objects.filter(product_id=product_id, status=CodeStatus.AVAILABLE, deleted_at__isnull=True)
    oldest = oldest.order_by("created_at", "id").values("id")[:quantity]
    return Code.objects.filter(id__in=oldest, status=CodeStatus.AVAILABLE).update(
        status=status, delivery=delivery, updated_at=timezone.now()
    )
