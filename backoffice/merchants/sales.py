"""Merchants' page for their sales: the orders for their products, read-only, refunded through `order_refund`."""

from django.contrib import admin, messages
from django.db.models import F

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import (
    ORDER_EXPORT_FIELDS,
    DateRangeFilter,
    RefundInline,
    ReportListMixin,
    StatusHistoryInline,
    UUIDSearchMixin,
    refund_selected,
    short_datetime,
    short_id,
)
from backoffice.sites import is_merchant, merchant_site
from orders.models import Order
from orders.selectors import order_list_for_merchant


class MerchantStatusChangeInline(StatusHistoryInline):
    # No actor: on a merchant's page that could be a buyer's or an operator's account.
    fields = ["created_at", "from_status", "to_status", "source", "reason"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return is_merchant(request.user)


class MerchantRefundInline(RefundInline):
    fields = ["created_at", "amount", "status", "reason", "source"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return is_merchant(request.user)


@admin.register(Order, site=merchant_site)
class MerchantSaleAdmin(ReportListMixin, UUIDSearchMixin, MerchantOwnedAdmin):
    menu_label = "Sales"
    list_display = [
        short_datetime("created_at"),
        "product_name",
        "buyer_email",
        "quantity",
        "unit_price",
        "total_amount",
        "fee_amount",
        "status",
        "payment_method",
        short_id("id"),
    ]
    list_filter = ["status", "payment_method", ("created_at", DateRangeFilter)]
    search_fields = ["product_name", "buyer__email"]
    list_totals = (
        ("Total", "total_amount"),
        ("Fees", "fee_amount"),
        ("Net", F("total_amount") - F("fee_amount")),
    )
    export_name = "sales"
    export_fields = ORDER_EXPORT_FIELDS
    uuid_search_fields = ("id",)
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fields = [
        "id",
        "created_at",
        "status",
        "payment_method",
        "product_name",
        "unit_price",
        "quantity",
        "total_amount",
        "fee_amount",
        "currency",
        "buyer_email",
        "buyer_id",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [MerchantRefundInline, MerchantStatusChangeInline]
    actions = ["refund_sales"]

    def owner_id(self, obj):
        return obj.merchant_id

    def get_queryset(self, request):
        # The list shows no refunds (the change page has them inline): not the API's prefetch of them.
        sales = order_list_for_merchant(user=request.user).prefetch_related(None)
        return sales.annotate(buyer_email=F("buyer__email"))

    @admin.display(description="buyer", ordering="buyer_email")
    def buyer_email(self, order: Order) -> str:
        return order.buyer_email

    @admin.display(description="buyer id")
    def buyer_id(self, order: Order):
        return order.buyer_id

    def has_refund_permission(self, request) -> bool:
        return is_merchant(request.user)

    @admin.action(description="Refund selected sales (an amount, or all that is left)", permissions=["refund"])
    def refund_sales(self, request, queryset):
        return refund_selected(self, request, queryset, noun="sale", not_refundable_level=messages.WARNING)
