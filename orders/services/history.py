from core.metrics import order_status_record
from orders.models import Order, OrderStatus, OrderStatusChange


def order_transition(*, order: Order, to_status: str, source: str, actor=None, reason: str = "") -> None:
    """Move `order` to `to_status` and append the step to its history (caller holds the order's lock)."""
    from_status = order.status
    order.status = to_status
    update_fields = ["status", "updated_at"]
    if to_status in (OrderStatus.FAILED, OrderStatus.EXPIRED):
        order.failure_reason = reason
        update_fields.append("failure_reason")
    order.save(update_fields=update_fields)
    OrderStatusChange.objects.create(
        order=order, from_status=from_status, to_status=to_status, source=source, actor=actor, reason=reason
    )
    order_status_record(status=to_status, payment_method=order.payment_method)


def order_record_created(*, order: Order, source: str, actor=None, reason: str = "") -> None:
    """Write the first history step of a new order."""
    OrderStatusChange.objects.create(
        order=order, from_status="", to_status=order.status, source=source, actor=actor, reason=reason
    )
    order_status_record(status=order.status, payment_method=order.payment_method)
