"""Operators' page for the catalogue: every merchant's products, read-only but for "restore"."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from backoffice.sites import operator_site
from catalog.models import Product
from catalog.services import product_restore


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", _("Deleted")), ("no", _("Not deleted"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(Product, site=operator_site)
class ProductAdmin(admin.ModelAdmin):
    """Operators see every product, deleted ones included; changes go through catalog.services.

    Products are read-only here: merchants edit their own through the API (and the
    merchants' back office), and stock moves only through orders, so that
    `units_supplied` and the cache stay right. The one operator write is "restore".
    """

    list_display = [
        "name",
        "merchant",
        "price",
        "available_units",
        "units_supplied",
        "is_active",
        "is_deleted",
        "created_at",
    ]
    list_filter = ["is_active", DeletedFilter]
    list_select_related = ["merchant"]
    search_fields = ["name", "merchant__email", "id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["restore"]
    fields = [
        "id",
        "merchant",
        "name",
        "description",
        "price",
        "available_units",
        "units_supplied",
        "is_active",
        "deleted_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description=_("deleted"))
    def is_deleted(self, product: Product) -> bool:
        return product.is_deleted

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Restore selected deleted products"), permissions=["change"])
    def restore(self, request, queryset):
        deleted = list(queryset.filter(deleted_at__isnull=False).values_list("id", flat=True))
        for product_id in deleted:
            product_restore(product_id=product_id)
        self.message_user(request, f"Restored {len(deleted)} product(s).", messages.SUCCESS)
