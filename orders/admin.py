from django.contrib import admin, messages

from orders.models import Order, OrderStatusChange, StatusChangeSource
from orders.services import order_refund
from paymentflow.errors import ApplicationError


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "source", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here; the refund action goes through `order_refund` like the API."""

    list_display = [
        "id",
        "created_at",
        "status",
        "payment_method",
        "product_name",
        "quantity",
        "total_amount",
        "buyer",
        "merchant",
    ]
    list_filter = ["status", "payment_method", "created_at"]
    search_fields = ["id", "buyer__email", "merchant__email", "product_name", "payment_intent_id"]
    date_hierarchy = "created_at"
    list_select_related = ["buyer", "merchant"]
    inlines = [OrderStatusChangeInline]
    actions = ["refund_orders"]
    exclude = ["payment_client_secret"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields if f.name != "payment_client_secret"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Refund selected orders (full refund, units back to stock)")
    def refund_orders(self, request, queryset):
        refunded = 0
        for order in queryset:
            try:
                order_refund(order_id=order.id, actor=request.user, source=StatusChangeSource.ADMIN)
                refunded += 1
            except ApplicationError as exc:
                self.message_user(request, f"Order {order.id}: {exc.detail}", level=messages.ERROR)
        if refunded:
            self.message_user(request, f"Refunded {refunded} order(s).", level=messages.SUCCESS)
