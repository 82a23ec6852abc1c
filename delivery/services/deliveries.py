"""What an order delivers, through the order's life: opened with it, completed, released, revoked.

These run inside the order's own transaction (orders.services), at the "codes"
step of its lock sequence: after the wallets and the product, before the
order. `delivery_open` is called with the product's row lock held; the others
with the delivery's (`delivery.locks.delivery_lock`).
"""

from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.exceptions import OutOfStock, ProductUnavailable
from catalog.models import DeliveryKind, Product
from core.transactions import atomic_required
from delivery.exceptions import CodeNotFound, InvalidCodeState
from delivery.locks import code_qs_select_for_update, codes_take, delivery_lock
from delivery.models import Code, CodeStatus, Delivery, DeliveryStatus, LicenseActivation, ProductFile, Revocation


def delivery_open(*, order_id: UUID, buyer: User, product: Product, quantity: int, paid: bool) -> Delivery:
    """Write the delivery of a new order, with the product's row lock held; `paid`: the order is completed.

    CODES: the order takes `quantity` codes, DELIVERED when paid, RESERVED while
    its card payment is pending. FILE: a product without its file cannot be
    sold (`ProductUnavailable`). NONE: nothing to deliver.
    """
    atomic_required("delivery_open() must run inside the order's transaction.atomic() block.")
    if product.delivery_kind == DeliveryKind.FILE and not ProductFile.objects.filter(product_id=product.id).exists():
        raise ProductUnavailable.file_missing()
    now = timezone.now()
    delivery = Delivery.objects.create(
        order_id=order_id,
        buyer=buyer,
        product=product,
        status=DeliveryStatus.DELIVERED if paid else DeliveryStatus.PENDING,
        delivered_at=now if paid else None,
    )
    if product.delivery_kind == DeliveryKind.CODES:
        taken = codes_take(
            product_id=product.id,
            quantity=quantity,
            delivery=delivery,
            status=CodeStatus.DELIVERED if paid else CodeStatus.RESERVED,
        )
        if taken != quantity:
            # Stock said there were enough: stock and pool disagree (reconcile reports it). Nothing is kept.
            raise OutOfStock.of_codes(available=taken, requested=quantity)
    return delivery


def delivery_complete(*, delivery: Delivery) -> None:
    """Deliver a pending order that was paid: its reserved codes become DELIVERED (delivery locked)."""
    atomic_required("delivery_complete() must run inside the order's transaction.atomic() block.")
    now = timezone.now()
    delivery.codes.filter(status=CodeStatus.RESERVED).update(status=CodeStatus.DELIVERED, updated_at=now)
    delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
    delivery.save(update_fields=["status", "delivered_at", "updated_at"])


def delivery_release(*, delivery: Delivery) -> int:
    """Give a failed or expired order's reserved codes back to the pool (never shown); return how many.

    The caller holds the product's lock as well as the delivery's, and returns
    the same number of units to stock. The delivery stays PENDING: nothing was
    delivered, and nothing ever will be.
    """
    atomic_required("delivery_release() must run inside the order's transaction.atomic() block.")
    return delivery.codes.filter(status=CodeStatus.RESERVED).update(
        status=CodeStatus.AVAILABLE, delivery=None, updated_at=timezone.now()
    )


def _revoke_codes(codes) -> None:
    now = timezone.now()
    LicenseActivation.objects.filter(code__in=codes, deactivated_at__isnull=True).update(deactivated_at=now)
    codes.update(status=CodeStatus.REVOKED, updated_at=now)


def delivery_revoke(*, delivery: Delivery) -> None:
    """Revoke a delivery (its order was fully refunded, or an operator said so): codes burnt, licenses ended.

    A burnt code is never sold again: it stays REVOKED with its order. Its
    license activations end with it. The delivery's lock is held.
    """
    atomic_required("delivery_revoke() must run inside the order's transaction.atomic() block.")
    if delivery.status == DeliveryStatus.REVOKED:
        return
    _revoke_codes(delivery.codes.exclude(status=CodeStatus.REVOKED))
    delivery.status, delivery.revoked_at = DeliveryStatus.REVOKED, timezone.now()
    delivery.save(update_fields=["status", "revoked_at", "updated_at"])


@transaction.atomic
def delivery_revoke_by_operator(*, order_id: UUID, actor: User, reason: str) -> Revocation:
    """Revoke an order's whole delivery, with the operator's reason recorded (the order itself is unchanged)."""
    delivery = delivery_lock(order_id=order_id)
    if delivery.status != DeliveryStatus.DELIVERED:
        raise InvalidCodeState(f"Only a DELIVERED delivery can be revoked; this one is {delivery.status}.")
    delivery_revoke(delivery=delivery)
    return Revocation.objects.create(actor=actor, delivery=delivery, reason=reason)


@transaction.atomic
def code_revoke_by_operator(*, code_id: UUID, actor: User, reason: str) -> Revocation:
    """Revoke one delivered code (leaked, abused), with the operator's reason recorded; its licenses end."""
    found = Code.objects.filter(id=code_id).values_list("delivery__order_id", flat=True)
    if not found:
        raise CodeNotFound()
    if found[0] is not None:
        # The delivery first, then the code: the order every change of an order's codes keeps.
        delivery_lock(order_id=found[0])
    code = code_qs_select_for_update().get(id=code_id)
    if code.status != CodeStatus.DELIVERED:
        raise InvalidCodeState(f"Only a DELIVERED code can be revoked; this one is {code.status}.")
    _revoke_codes(Code.objects.filter(id=code_id))
    return Revocation.objects.create(actor=actor, code=code, reason=reason)
