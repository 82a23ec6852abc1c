"""What both back offices use: the operators' `/admin/` and the merchants' `/merchant/`.

The two sites show different rows with different powers, but where their
pages do the same thing it is written here once, so a rule about money (a
refund goes through `order_refund`, history is never editable) is one rule on
both sites.
"""

import itertools
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from core.errors import ApplicationError
from core.money import MoneySum
from core.streaming import csv_response
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


SHORT_ID_LENGTH = 8


def short_id(field: str, description: str | None = None):
    """Return a list column showing `field` (a UUID) by its first 8 characters, the whole id on hover.

    Whole UUIDs wrap a list's columns at 1280 px; the detail page still shows
    the full id, and the search box finds a row by it.
    """

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj):
        value = getattr(obj, field)
        if value is None:
            return "-"
        text = str(value)
        return format_html('<code class="pf-id" title="{}">{}</code>', text, text[:SHORT_ID_LENGTH])

    column.__name__ = f"{field}_short"
    return column


def short_datetime(field: str, description: str | None = None):
    """Return a list column showing `field` (a date-time) as "2026-11-04 09:30" UTC, to the second on hover.

    Django's "Nov. 4, 2026, 9:30 a.m." takes half as much again of a list's width.
    """

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj):
        value = getattr(obj, field)
        if value is None:
            return "-"
        value = value.astimezone(UTC)
        return format_html(
            '<time class="pf-time" datetime="{}" title="{}">{}</time>',
            value.isoformat(),
            f"{value:%Y-%m-%d %H:%M:%S} UTC",
            f"{value:%Y-%m-%d %H:%M}",
        )

    column.__name__ = f"{field}_short"
    return column


class DateRangeForm(forms.Form):
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)


class DateRangeFilter(admin.FieldListFilter):
    """Filter a date-time field from one UTC day to another, both included: `<field>__from`, `<field>__to`.

    `list_filter = [("created_at", DateRangeFilter)]`. Either end may be left
    empty; a date that does not parse is the admin's "incorrect lookup" answer.
    """

    template = "backoffice/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.parameter_from = f"{field_path}__from"
        self.parameter_to = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.form = DateRangeForm({"start": self._value(self.parameter_from), "end": self._value(self.parameter_to)})

    def _value(self, parameter: str) -> str:
        value = self.used_parameters.get(parameter, "")
        # The admin hands over every value of a parameter; the last one typed wins.
        return value[-1] if isinstance(value, list) else value

    def expected_parameters(self) -> list[str]:
        return [self.parameter_from, self.parameter_to]

    def queryset(self, request, queryset):
        if not self.form.is_valid():
            raise IncorrectLookupParameters(self.form.errors)
        start, end = self.form.cleaned_data["start"], self.form.cleaned_data["end"]
        if start:
            queryset = queryset.filter(**{f"{self.field_path}__gte": datetime.combine(start, time.min, UTC)})
        if end:
            next_day = datetime.combine(end + timedelta(days=1), time.min, UTC)
            queryset = queryset.filter(**{f"{self.field_path}__lt": next_day})
        return queryset

    def choices(self, changelist):
        # One "choice": the form, with the list's other parameters carried as hidden fields.
        yield {
            "parameter_from": self.parameter_from,
            "parameter_to": self.parameter_to,
            "value_from": self._value(self.parameter_from),
            "value_to": self._value(self.parameter_to),
            # Every other parameter (filters, search, ordering) but the page, which a new range resets.
            "others": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name not in (*self.expected_parameters(), PAGE_VAR, ERROR_FLAG)
                for value in values
            ],
            "reset_url": changelist.get_query_string(remove=self.expected_parameters()),
        }


class ReportListMixin:
    """Totals of the filtered rows above a list, and a button exporting those rows as CSV, streamed.

    `list_totals`: (label, field or expression) pairs summed as money over
    every row the filters, search and date drill-down select (not only the
    page shown), in one query; the count is the one the list shows.
    `export_fields`: (header, `values()` lookup) pairs, the CSV's columns. The
    export honors the same filters (it builds the changelist from the same
    query string), so a merchant, whose queryset is its own rows, exports only
    those.
    """

    change_list_template = "backoffice/change_list.html"
    list_totals: tuple[tuple[str, object], ...] = ()
    export_fields: tuple[tuple[str, str], ...] = ()
    export_name = ""

    def get_urls(self):
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["list_totals"] = self.totals(context["cl"])
        return response

    def totals(self, changelist) -> dict:
        """Return the selected rows' count and each of `list_totals` summed (a Decimal to the cent), by label."""
        sums = changelist.queryset.aggregate(
            **{f"total_{n}": MoneySum(field) for n, (_, field) in enumerate(self.list_totals)}
        )
        return {
            "rows": changelist.result_count,
            "sums": [(label, sums[f"total_{n}"]) for n, (label, _) in enumerate(self.list_totals)],
        }

    def export_view(self, request):
        """Stream the rows the list's current filters select as CSV, and say how many in a message."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(request.path.removesuffix("export.csv"))
        queryset = changelist.queryset
        count = changelist.result_count
        rows = queryset.values_list(*(lookup for _, lookup in self.export_fields)).iterator(chunk_size=2000)
        name = f"{self.export_name or self.opts.model_name}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        # Added now, shown on the next page: the download itself has no page to show it on.
        self.message_user(request, f"Exported {count:,} row{'' if count == 1 else 's'} to {name}.", messages.SUCCESS)
        header = tuple(header for header, _ in self.export_fields)
        return csv_response(rows=itertools.chain((header,), rows), filename=name)


# The CSV columns of an order on both sites: (header, `values()` lookup).
ORDER_EXPORT_FIELDS = (
    ("id", "id"),
    ("created_at", "created_at"),
    ("status", "status"),
    ("payment_method", "payment_method"),
    ("product", "product_name"),
    ("unit_price", "unit_price"),
    ("quantity", "quantity"),
    ("total_amount", "total_amount"),
    ("fee_amount", "fee_amount"),
    ("currency", "currency"),
    ("buyer_email", "buyer__email"),
)


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
    the second (with `apply`) refunds and reports the outcome ("Refunded 3
    order(s), 1 refused:"), then each refusal with its reason: operators see an
    order that cannot be refunded as an error, merchants (refunding their own
    sales) as a warning to skip it. Any other refusal (the
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
    refunded, refused = 0, []
    for order in orders:
        try:
            order_refund(
                order_id=order.id, actor=request.user, amount=amount, reason=reason, source=StatusChangeSource.ADMIN
            )
        except InvalidOrderState as exc:
            refused.append((f"Order {order.id}: {exc.detail}", not_refundable_level))
            continue
        except ApplicationError as exc:
            refused.append((f"Order {order.id}: {exc.detail}", messages.ERROR))
            continue
        refunded += 1
        model_admin.log_change(request, order, f"Refunded {amount or 'all that was left'}.")
    if refunded:
        # The outcome first, then each refusal with its reason under it.
        outcome = f"Refunded {refunded} {noun}(s)"
        model_admin.message_user(
            request, f"{outcome}, {len(refused)} refused:" if refused else f"{outcome}.", level=messages.SUCCESS
        )
    for message, level in refused:
        model_admin.message_user(request, message, level=level)
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


def act_on_each(
    model_admin, request, rows: Iterable, act: Callable, *, label: Callable, done: str, refused_level=messages.ERROR
) -> int:
    """Run `act(row)` for each row through its service; say each refusal, then how many `done` (a format)."""
    count = 0
    for row in rows:
        try:
            act(row)
        except ApplicationError as exc:
            model_admin.message_user(request, f"{label(row)}: {exc.detail}", refused_level)
            continue
        count += 1
    if count:
        model_admin.message_user(request, done.format(count=count), messages.SUCCESS)
    return count


def webhook_deliveries_retry(model_admin, request, deliveries) -> None:
    """Retry webhook deliveries through `webhook_delivery_retry` (as the API does), reporting each refusal."""
    act_on_each(
        model_admin,
        request,
        deliveries.select_related("endpoint__merchant"),
        lambda delivery: webhook_delivery_retry(
            merchant=delivery.endpoint.merchant, endpoint_id=delivery.endpoint_id, delivery_id=delivery.pk
        ),
        label=lambda delivery: f"{delivery.event_type} {delivery.event_id}",
        done="{count} deliveries will be sent again shortly.",
    )
