"""What both back offices use: the operators' `/admin/` and the merchants' `/merchant/`.

The two sites show different rows with different powers, but where their
pages do the same thing it is written here once, so a rule about money (a
refund goes through `order_refund`, history is never editable) is one rule on
both sites.
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.template.response import TemplateResponse

from core.errors import ApplicationError
from notifications.services import webhook_delivery_retry
from orders.exceptions import InvalidOrderState
from orders.models import OrderStatusChange, Refund, StatusChangeSource
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


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="Of each selected order. Leave it empty to refund all that is left of each.",
    )
    reason = forms.CharField(max_length=500, required=False, help_text="Shown on the refund and in the history.")


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    """An order's refunds under the order, read-only: what was given back, and where each stands."""

    model = Refund
    extra = 0
    can_delete = False
    fk_name = "order"


def refund_selected(
    model_admin, request, orders, *, noun: str = "order", not_refundable_level=messages.ERROR
) -> TemplateResponse | None:
    """Ask for an amount and a reason, then refund each order through `order_refund` (as the API does).

    Both back offices use it. The first POST (the admin action) shows the form;
    the second (with `apply`) refunds and reports each outcome as a message:
    operators see an order that cannot be refunded as an error, merchants
    (refunding their own sales) as a warning to skip it. Any other refusal (the
    merchant's wallet cannot cover it, more than is left) is an error for that
    order and changes nothing.
    """
    form = RefundForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"Refund {len(orders)} {noun}(s)",
            "opts": model_admin.model._meta,
            "orders": orders,
            "form": form,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "backoffice/refund_form.html", context)
    amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
    refunded = 0
    for order in orders:
        try:
            order_refund(
                order_id=order.id, actor=request.user, amount=amount, reason=reason, source=StatusChangeSource.ADMIN
            )
        except InvalidOrderState as exc:
            model_admin.message_user(request, f"Order {order.id}: {exc.detail}", level=not_refundable_level)
            continue
        except ApplicationError as exc:
            model_admin.message_user(request, f"Order {order.id}: {exc.detail}", level=messages.ERROR)
            continue
        refunded += 1
        model_admin.log_change(request, order, f"Refunded {amount or 'all that was left'}.")
    if refunded:
        model_admin.message_user(request, f"Refunded {refunded} {noun}(s).", level=messages.SUCCESS)
    return None


# A webhook delivery's page on both sites: its log line and the body that was sent.
WEBHOOK_DELIVERY_FIELDS = [
    "event_id",
    "event_type",
    "endpoint",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "created_at",
    "payload",
]


def webhook_deliveries_retry(request, deliveries) -> None:
    """Retry webhook deliveries through `webhook_delivery_retry` (as the API does), reporting each refusal."""
    retried = 0
    for delivery in deliveries.select_related("endpoint__merchant"):
        try:
            webhook_delivery_retry(
                merchant=delivery.endpoint.merchant, endpoint_id=delivery.endpoint_id, delivery_id=delivery.pk
            )
            retried += 1
        except ApplicationError as exc:
            messages.error(request, f"{delivery.event_type} {delivery.event_id}: {exc.detail}")
    if retried:
        messages.success(request, f"{retried} deliveries will be sent again shortly.")
