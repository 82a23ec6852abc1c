"""What both back offices use: the operators' `/admin/` and the merchants' `/merchant/`.

The two sites show different rows with different powers, but where their
pages do the same thing it is written here once, so a rule about money (a
refund goes through `order_refund`, history is never editable) is one rule on
both sites.
"""

import uuid

from django.contrib import admin, messages
from django.db.models import Q

from core.errors import ApplicationError
from orders.exceptions import InvalidOrderState
from orders.models import OrderStatusChange, StatusChangeSource
from orders.services import order_refund


class ReadOnlyAdminMixin:
    """No add, change or delete: the admin (or inline) only shows these rows.

    Money, its history and the inbox are written by the services alone, so
    every admin over them is built on this.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class UUIDSearchMixin:
    """Let the search box find a row by an exact id (or order id) pasted in, besides the text fields.

    The ids are matched within the admin's own queryset, so on the merchants'
    site a pasted id finds only the merchant's own rows.
    """

    uuid_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        by_id = Q()
        for field in self.uuid_search_fields:
            by_id |= Q(**{field: value})
        if by_id:  # An empty Q() would match every row.
            results |= queryset.filter(by_id)
        return results, may_have_duplicates


class StatusHistoryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """An order's status changes under the order, read-only: they are the order's audit trail."""

    model = OrderStatusChange
    extra = 0
    can_delete = False


def refund_selected(
    model_admin, request, orders, *, reason: str = "", noun: str = "order", not_completed_level=messages.ERROR
) -> None:
    """Refund each order through `order_refund` (as the API does) and report the outcome as messages.

    Both back offices use it: operators see an order that is not COMPLETED as
    an error, merchants (refunding their own sales) as a warning to skip it.
    Any other refusal (e.g. the merchant's wallet cannot cover it) is an error
    for that order and changes nothing.
    """
    refunded = 0
    for order in orders:
        try:
            order_refund(order_id=order.id, actor=request.user, source=StatusChangeSource.ADMIN, reason=reason)
        except InvalidOrderState as exc:
            model_admin.message_user(request, f"Order {order.id}: {exc.detail}", level=not_completed_level)
            continue
        except ApplicationError as exc:
            model_admin.message_user(request, f"Order {order.id}: {exc.detail}", level=messages.ERROR)
            continue
        refunded += 1
        model_admin.log_change(request, order, "Refunded.")
    if refunded:
        model_admin.message_user(request, f"Refunded {refunded} {noun}(s).", level=messages.SUCCESS)
