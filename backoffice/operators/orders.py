"""Operators' pages for orders and for the payments webhook inbox.

Both are read-only: an order's status only moves through `orders.services`
(the refund action calls `order_refund`, as the API does, so the same locks and
checks apply), and a webhook event only through the inbox's own processing.
Nothing here can be deleted: orders and events are part of the money trail.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from backoffice.shared import (
    ORDER_EXPORT_FIELDS,
    DateRangeFilter,
    ReadOnlyAdminMixin,
    RefundInline,
    ReportListMixin,
    StatusHistoryInline,
    refund_selected,
    short_datetime,
    short_id,
)
from backoffice.sites import operator_site
from orders.models import Order, WebhookEvent, WebhookOutcome
from orders.services.refunds.rules import refund_allowed_for_any_order
from orders.services.webhooks import webhook_event_dismiss, webhook_event_enqueue


class OrderStatusChangeInline(StatusHistoryInline):
    fields = ["created_at", "from_status", "to_status", "source", "actor", "reason"]
    readonly_fields = fields


class OrderRefundInline(RefundInline):
    fields = [
        "created_at",
        "kind",
        "amount",
        "fee_amount",
        "status",
        "reason",
        "source",
        "actor",
        "gateway_refund_id",
        "failure_reason",
        "settled_at",
    ]
    readonly_fields = fields


@admin.register(Order, site=operator_site)
class OrderAdmin(ReportListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Orders are read-only here; the refund action goes through `order_refund` like the API.

    View-only on purpose: saving a change form would write back a status read
    without the order's lock.
    """

    list_display = [
        short_id("id"),
        short_datetime("created_at"),
        "status",
        "payment_method",
        "product_name",
        "quantity",
        "total_amount",
        "buyer",
        "merchant",
    ]
    list_filter = ["status", "payment_method", ("created_at", DateRangeFilter)]
    list_totals = (("Total", "total_amount"), ("Fees", "fee_amount"))
    export_name = "orders"
    export_fields = (
        *ORDER_EXPORT_FIELDS,
        ("merchant_email", "merchant__email"),
        ("payment_intent_id", "payment_intent_id"),
    )
    search_fields = ["id", "buyer__email", "merchant__email", "product_name", "payment_intent_id"]
    date_hierarchy = "created_at"
    list_select_related = ["buyer", "merchant"]
    inlines = [OrderRefundInline, OrderStatusChangeInline]
    actions = ["refund_orders"]

    def get_fields(self, request, obj=None):
        # Never the client secret: it lets whoever holds it confirm the card payment.
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in Order._meta.fields if f.name != "payment_client_secret"), "ledger"]

    @admin.display(description="ledger")
    def ledger(self, order: Order) -> str:
        url = reverse("admin:wallets_journal_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?q={}">journals of this order</a>', url, order.pk)

    def has_refund_permission(self, request) -> bool:
        return refund_allowed_for_any_order(request.user)

    @admin.action(description="Refund selected orders (an amount, or all that is left)", permissions=["refund"])
    def refund_orders(self, request, queryset):
        return refund_selected(self, request, queryset)


@admin.register(WebhookEvent, site=operator_site)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The inbox, read-only; a failed event can be processed again once its cause is fixed."""

    list_display = [
        "received_at",
        "type",
        "outcome",
        "event_id",
        short_id("order_id", "order"),
        "attempts",
        "processed_at",
    ]
    list_filter = ["outcome", "type", "provider"]
    search_fields = ["event_id", "order__id", "detail"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-id"]
    show_full_result_count = False
    actions = ["reprocess", "dismiss"]
    fields = [
        "id",
        "provider",
        "event_id",
        "type",
        "outcome",
        "detail",
        "order",
        "attempts",
        "received_at",
        "processed_at",
        "payload",
    ]
    readonly_fields = fields

    def has_reprocess_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_webhookevent")

    @admin.action(
        description="Dismiss selected failed events (their cause was settled by hand)", permissions=["reprocess"]
    )
    def dismiss(self, request, queryset):
        failed = list(queryset.filter(outcome=WebhookOutcome.FAILED).values_list("pk", flat=True))
        for event_pk in failed:
            event = webhook_event_dismiss(event_pk=event_pk, operator=request.user)
            self.log_change(request, event, "Dismissed.")
        self.message_user(request, f"Dismissed {len(failed)} failed event(s).", messages.SUCCESS)

    @admin.action(description="Reprocess selected failed or unprocessed events", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        # Queued for the worker, as a delivery from Stripe is: its row lock keeps it single.
        queued = list(queryset.exclude(outcome__in=[WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED]))
        for event in queued:
            webhook_event_enqueue(event_pk=event.pk)
            self.log_change(request, event, "Queued for reprocessing.")
        skipped = len(queryset) - len(queued)
        if queued:
            self.message_user(
                request,
                f"Queued {len(queued)} event(s) for reprocessing: their outcome shows here soon.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(request, f"{skipped} event(s) skipped: already processed or ignored.", messages.INFO)
