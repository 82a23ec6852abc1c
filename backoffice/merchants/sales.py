"""Merchants' page for their sales: the orders for their products, read-only, refunded through `order_refund`."""

from django.contrib import admin, messages

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import RefundInline, StatusHistoryInline, UUIDSearchMixin, refund_selected
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
class MerchantSaleAdmin(UUIDSearchMixin, MerchantOwnedAdmin):
    menu_label = "Sales"
    list_display = [
        "created_at",
        "product_name",
        "quantity",
        "unit_price",
        "total_amount",
        "fee_amount",
        "status",
        "payment_method",
        "id",
    ]
    list_filter = ["status", "payment_method"]
    search_fields = ["product_name"]
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
        "buyer_id",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [MerchantRefundInline, MerchantStatusChangeInline]
    actions = ["refund_sales"]

    def owner_id(self, obj):
        return obj.merchant_id

    def get_queryset(self, request):
        return order_list_for_merchant(user=request.user)

    @admin.display(description="buyer id")
    def buyer_id(self, order: Order):
        return order.buyer_id

    def has_refund_permission(self, request) -> bool:
        return is_merchant(request.user)

    @admin.action(description="Refund selected sales (an amount, or all that is left)", permissions=["refund"])
    def refund_sales(self, request, queryset):
        return refund_selected(self, request, queryset, noun="sale", not_refundable_level=messages.WARNING)
