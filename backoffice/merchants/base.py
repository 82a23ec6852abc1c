"""The merchants' pages share one rule: a merchant's own rows, nobody else's.

Merchants hold no Django model permissions, so every ModelAdmin here decides
view/add/change/delete from the role and the ownership of the row, and every
queryset is filtered by `request.user`. A row outside that queryset is never
listed and is a 404 by URL (Django's admin would redirect to the index with a
"doesn't exist" message instead), whether it belongs to another merchant or
does not exist at all, so ids tell nothing.
"""

from django.contrib import admin
from django.http import Http404

from backoffice.sites import is_merchant


class MerchantOwnedAdmin(admin.ModelAdmin):
    """Scope a ModelAdmin to the logged-in merchant's rows; read-only unless `editable`.

    `editable = True`: a merchant adds rows and changes or deletes its own (each
    write still goes through the subclass's service calls).
    """

    menu_label = ""
    editable = False
    list_per_page = 50
    show_full_result_count = False

    def owner_id(self, obj):
        raise NotImplementedError

    def owns(self, request, obj) -> bool:
        return obj is None or self.owner_id(obj) == request.user.id

    def has_module_permission(self, request) -> bool:
        return is_merchant(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_merchant(request.user) and self.owns(request, obj)

    def has_add_permission(self, request) -> bool:
        return self.editable and is_merchant(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.editable and self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.editable and self.has_view_permission(request, obj)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id is yours.")
        return obj

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": self.menu_label, **(extra_context or {})})
