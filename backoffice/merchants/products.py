"""Merchants' page for their products: created, edited and (soft) deleted through `catalog.services`.

A product's delivery kind is chosen when it is created and shown read-only after;
a FILE product's page links to its file (`backoffice.merchants.files`), a CODES
product's to its codes (`backoffice.merchants.codes`), whose number is its stock.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.merchants.files import ProductFilePages
from backoffice.sites import is_merchant, merchant_site
from catalog.exceptions import NotMerchant, NotProductOwner, ProductNotFound
from catalog.models import DeliveryKind, Product
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
        fields = [*PRODUCT_FIELDS, "delivery_kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["stock_shown"].initial = self.instance.available_units
        if "delivery_kind" in self.fields:
            # Left out, a product delivers nothing (NONE), as in the API.
            self.fields["delivery_kind"].required = False

    @property
    def stock_edited(self) -> bool:
        shown = self.cleaned_data.get("stock_shown")
        return shown is None or self.cleaned_data.get("available_units") != shown

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance._state.adding
            and cleaned.get("delivery_kind") == DeliveryKind.CODES
            and cleaned.get("available_units")
        ):
            raise forms.ValidationError(
                {"available_units": "A CODES product starts with 0 units: upload codes instead."}
            )
        current = self.instance.available_units if self.instance.pk else None
        # A CODES product's stock is read-only here (not a field of the form): nothing to compare.
        if (
            current is not None
            and "available_units" in self.fields
            and self.stock_edited
            and cleaned.get("stock_shown") not in (None, current)
        ):
            # Re-render with the stock as it is now, so saving again is a decision on fresh numbers.
            self.data = self.data.copy()
            self.data["stock_shown"] = current
            raise forms.ValidationError(
                {"available_units": f"Orders changed the stock to {current} since this page was opened; check it."}
            )
        return cleaned


@admin.register(Product, site=merchant_site)
class MerchantProductAdmin(ProductFilePages, MerchantOwnedAdmin):
    form = MerchantProductForm
    menu_label = "Products"
    list_display = ["name", "price", "available_units", "units_sold", "is_active", "created_at", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fields = [*PRODUCT_FIELDS, "stock_shown", "delivery_kind", "delivery", "units_supplied", "created_at", "updated_at"]
    readonly_fields = ["delivery", "units_supplied", "created_at", "updated_at"]
    delete_confirmation_template = "backoffice/merchants/product_delete_confirmation.html"
    delete_selected_confirmation_template = "backoffice/merchants/product_delete_selected_confirmation.html"

    def owner_id(self, obj):
        return obj.merchant_id

    def get_fields(self, request, obj=None):
        # What a product delivers is shown once there is a product.
        return [field for field in self.fields if obj is not None or field != "delivery"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("delivery_kind")
            if obj.delivery_kind == DeliveryKind.CODES:
                # Its stock is its available codes: moved by uploads, deletions and orders only.
                readonly.append("available_units")
        return readonly

    @admin.display(description="delivers")
    def delivery(self, product: Product):
        if product.delivery_kind == DeliveryKind.FILE:
            current = getattr(product, "delivery_file", None) if product.pk else None
            label = current.file_name if current else "no file yet"
            return format_html(
                '{} — <a href="{}" id="product-file-link">the file</a>',
                label,
                reverse("merchant:catalog_product_file", args=[product.pk]),
            )
        if product.delivery_kind == DeliveryKind.CODES:
            codes = reverse("merchant:delivery_code_changelist") + f"?q={product.name}"
            return format_html(
                '{} available codes — <a href="{}">its codes</a>, <a href="{}">upload codes</a>',
                product.available_units,
                codes,
                reverse("merchant:delivery_code_upload"),
            )
        return "nothing to deliver"

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
                saved = product_create(
                    merchant=request.user,
                    delivery_kind=form.cleaned_data.get("delivery_kind") or DeliveryKind.NONE,
                    **data,
                )
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
