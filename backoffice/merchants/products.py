"""Merchants' page for their products: created, edited and (soft) deleted through `catalog.services`."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.html import format_html

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.sites import is_merchant, merchant_site
from catalog.exceptions import NotMerchant, NotProductOwner, ProductNotFound
from catalog.models import Product
from catalog.selectors import product_list_for_merchant
from catalog.services import product_create, product_delete, product_update

# The product fields a merchant edits; the same set the API's PATCH accepts.
PRODUCT_FIELDS = ["name", "description", "price", "available_units", "is_active"]


class MerchantProductForm(forms.ModelForm):
    """The product form, with the stock it showed carried along.

    Orders take units while a merchant edits: a form posted back with the
    number it displayed must not put sold units on sale again (a lost update).
    The stock field only counts as edited when it differs from what was shown,
    and an edit made over a stock that has moved since is refused for review.
    """

    stock_shown = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["stock_shown"].initial = self.instance.available_units

    @property
    def stock_edited(self) -> bool:
        shown = self.cleaned_data.get("stock_shown")
        return shown is None or self.cleaned_data.get("available_units") != shown

    def clean(self):
        cleaned = super().clean()
        current = self.instance.available_units if self.instance.pk else None
        if current is not None and self.stock_edited and cleaned.get("stock_shown") not in (None, current):
            # Re-render with the stock as it is now, so saving again is a decision on fresh numbers.
            self.data = self.data.copy()
            self.data["stock_shown"] = current
            raise forms.ValidationError(
                {"available_units": f"Orders changed the stock to {current} since this page was opened; check it."}
            )
        return cleaned


@admin.register(Product, site=merchant_site)
class MerchantProductAdmin(MerchantOwnedAdmin):
    form = MerchantProductForm
    menu_label = "Products"
    list_display = ["name", "price", "available_units", "units_sold", "is_active", "created_at", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fields = [*PRODUCT_FIELDS, "stock_shown", "units_supplied", "created_at", "updated_at"]
    readonly_fields = ["units_supplied", "created_at", "updated_at"]
    delete_confirmation_template = "backoffice/merchants/product_delete_confirmation.html"
    delete_selected_confirmation_template = "backoffice/merchants/product_delete_selected_confirmation.html"

    def owner_id(self, obj):
        return obj.merchant_id

    def get_queryset(self, request):
        # Deleted products are gone for their merchant, as in the API's my-products.
        return product_list_for_merchant(merchant=request.user)

    def has_add_permission(self, request) -> bool:
        return is_merchant(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    @admin.display(description="units sold or held")
    def units_sold(self, product: Product) -> int:
        return product.units_supplied - product.available_units

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in PRODUCT_FIELDS if field in form.cleaned_data}
        try:
            if change:
                changed = [f for f in form.changed_data if f in data and (f != "available_units" or form.stock_edited)]
                saved = product_update(product_id=obj.pk, merchant=request.user, **{f: data[f] for f in changed})
            else:
                saved = product_create(merchant=request.user, **data)
        except ProductNotFound as exc:
            raise Http404(exc.detail) from exc
        except (NotMerchant, NotProductOwner) as exc:
            raise PermissionDenied(exc.detail) from exc
        # The admin goes on with `obj` (its pk names the redirect and the log entry).
        for field in Product._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # A product has no many-to-many fields or inlines; the service wrote everything.
        pass

    def delete_model(self, request, obj):
        self._soft_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            self._soft_delete(request, product)

    def _soft_delete(self, request, product: Product) -> None:
        try:
            product_delete(product_id=product.pk, merchant=request.user)
        except ProductNotFound as exc:
            raise Http404(exc.detail) from exc
        except NotProductOwner as exc:
            raise PermissionDenied(exc.detail) from exc

    def get_deleted_objects(self, objs, request):
        # A soft delete removes nothing else: past orders keep pointing at the row,
        # so Django's collector (which would stop at those PROTECTed orders) is not asked.
        products = list(objs)
        names = [format_html("{}", product) for product in products]
        return names, {self.opts.verbose_name_plural: len(products)}, set(), []
