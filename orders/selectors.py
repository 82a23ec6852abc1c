"""Order reads, always scoped to who is asking."""

from django.db.models import OuterRef, Q, QuerySet, Subquery

from delivery.models import Delivery
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderStatus


def order_list_for_buyer(*, user, status: str | None = None) -> QuerySet[Order]:
    """Return the orders `user` placed, newest first."""
    orders = Order.objects.filter(buyer=user).prefetch_related("refunds")
    return orders.filter(status=status) if status else orders


def order_list_for_merchant(*, user, status: str | None = None) -> QuerySet[Order]:
    """Return the orders for `user`'s products, newest first."""
    orders = Order.objects.filter(merchant=user).prefetch_related("refunds")
    return orders.filter(status=status) if status else orders


# What a buyer's library lists: orders paid for and not fully refunded.
LIBRARY_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED)


def order_library_for_buyer(*, user) -> QuerySet[Order]:
    """Return `user`'s COMPLETED and PARTIALLY_REFUNDED orders, newest first, each with its `delivery_status`."""
    delivery_status = Subquery(Delivery.objects.filter(order_id=OuterRef("id")).values("status")[:1])
    return (
        Order.objects.filter(buyer=user, status__in=LIBRARY_STATUSES)
        .select_related("product")
        # Every order has its delivery row, written with it (orders migration 0006 for older ones).
        .annotate(delivery_status=delivery_status)
        .order_by("-created_at", "-id")
    )


def order_get(*, order_id) -> Order:
    """Return the order, or raise `OrderNotFound` (for services acting on an order by id)."""
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_get_for_participant(*, user, order_id) -> Order:
    """Return the order if `user` bought or sold it; anyone else gets 404, never 403, so ids do not leak."""
    order = Order.objects.filter(Q(buyer=user) | Q(merchant=user), id=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_list_due_for_expiry(*, now) -> QuerySet[Order]:
    """Return PENDING card orders whose reservation ran out by `now`, oldest first."""
    return Order.objects.filter(status=OrderStatus.PENDING, expires_at__lte=now).order_by("expires_at", "id")
