"""Expiring the unpaid card orders whose reservation ran out (beat, every minute; `manage.py expire_orders`)."""

from dataclasses import dataclass, field
from uuid import UUID

from django.utils import timezone

from orders.models import OrderStatus
from orders.selectors import order_list_due_for_expiry
from orders.services.card import order_expire


@dataclass
class ExpiryRun:
    """What one pass did: how many were due, those expired, those left PENDING as their payment is on the way."""

    due: int = 0
    expired: list[UUID] = field(default_factory=list)
    left_pending: list[UUID] = field(default_factory=list)


def orders_due_for_expiry(*, limit: int = 1000) -> list[UUID]:
    """Return the ids of PENDING card orders past their `expires_at`, at most `limit`."""
    return list(order_list_due_for_expiry(now=timezone.now()).values_list("id", flat=True)[:limit])


def orders_expire_due(*, limit: int = 1000) -> ExpiryRun:
    """Expire every due order (each under its own locks: safe alongside webhooks and another pass)."""
    due = orders_due_for_expiry(limit=limit)
    run = ExpiryRun(due=len(due))
    for order_id in due:
        order = order_expire(order_id=order_id)
        if order.status == OrderStatus.EXPIRED:
            run.expired.append(order_id)
        elif order.status == OrderStatus.PENDING:
            # Its payment is already on the way; the webhook will complete it.
            run.left_pending.append(order_id)
    return run
