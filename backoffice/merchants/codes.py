"""Merchants' page for their code pools: upload codes (CSV or text), list them by hint, delete unused ones.

Writes go through `delivery.services.codes`, as the API's do; the upload is
validated by the API's own serializer (1 to 1000 printable codes of 1 to 255
characters each), so a code the API refuses is refused here too. Each code
shows its hint and, once an order holds it, that order (a link to the sale):
never the code itself.
"""

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice.delivery import delivery_form_page
from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import act_on_each
from backoffice.sites import is_merchant, merchant_site
from catalog.exceptions import NotProductOwner, ProductNotFound
from catalog.models import DeliveryKind, Product
from catalog.selectors import product_list_for_merchant
from core.errors import ApplicationError
from delivery.models import CODES_PER_UPLOAD, Code
from delivery.serializers import CodesUploadSerializer
from delivery.services.codes import code_delete, codes_add

# 1000 codes of at most 255 characters, with separators and a header row.
CODES_FILE_MAX_BYTES = 512 * 1024


def codes_from_text(text: str) -> list[str]:
    """Return the codes of a CSV or plain-text upload: the first column of each non-empty row, no header."""
    rows = [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0].strip().lower() in ("code", "codes"):
        rows = rows[1:]
    return rows


class CodesUploadForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), help_text="One of your CODES products.")
    codes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        required=False,
        help_text="One code per line (or CSV: the first column).",
    )
    file = forms.FileField(required=False, help_text="A .csv or .txt file: one code per row, first column.")

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = product_list_for_merchant(merchant=merchant).filter(
            delivery_kind=DeliveryKind.CODES
        )

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("codes") or ""
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > CODES_FILE_MAX_BYTES:
                raise forms.ValidationError(f"A codes file is at most {CODES_FILE_MAX_BYTES // 1024} KB.")
            try:
                text += "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The codes file is not UTF-8 text.") from exc
        # The API's own rules (count, length, printable), on the same trimmed codes.
        body = CodesUploadSerializer(data={"codes": codes_from_text(text)})
        if not body.is_valid():
            raise forms.ValidationError(_codes_error(body.errors["codes"]))
        cleaned["code_list"] = body.validated_data["codes"]
        return cleaned


def _codes_error(errors: list) -> str:
    """Say in one sentence what is wrong with the codes: the bad ones (as the API names them), or their number."""
    bad = [str(message) for message in errors if str(message).startswith("Code ")]
    if bad:
        return f"Nothing was added; codes are numbered from 0: {' '.join(bad[:5])}"
    return f"An upload has 1 to {CODES_PER_UPLOAD} codes."


@admin.register(Code, site=merchant_site)
class MerchantCodeAdmin(MerchantOwnedAdmin):
    menu_label = "Codes"
    change_list_template = "backoffice/merchants/code_change_list.html"
    list_display = ["hint_shown", "product", "status", "sale", "created_at"]
    list_filter = ["status"]
    search_fields = ["product__name", "hint"]
    ordering = ["-created_at", "-id"]
    fields = ["hint_shown", "product", "status", "sale", "created_at", "updated_at"]
    readonly_fields = fields
    actions = ["delete_unused"]

    def owner_id(self, obj):
        return obj.product.merchant_id

    def get_queryset(self, request):
        return Code.objects.filter(product__merchant=request.user, deleted_at__isnull=True).select_related(
            "product", "delivery"
        )

    @admin.display(description="code", ordering="hint")
    def hint_shown(self, code: Code) -> str:
        return f"…{code.hint}"

    @admin.display(description="order")
    def sale(self, code: Code):
        if code.delivery is None:
            return "-"
        order_id = code.delivery.order_id
        return format_html('<a href="{}">{}</a>', reverse("merchant:orders_order_change", args=[order_id]), order_id)

    def has_delete_unused_permission(self, request) -> bool:
        return is_merchant(request.user)

    @admin.action(description="Delete selected unused codes", permissions=["delete_unused"])
    def delete_unused(self, request, queryset):
        act_on_each(
            self,
            request,
            queryset,
            lambda code: code_delete(product_id=code.product_id, code_id=code.id, merchant=request.user),
            label=lambda code: f"Code …{code.hint}",
            done="Deleted {count} unused code(s).",
            refused_level=messages.WARNING,
        )

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="delivery_code_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        """Add codes to one of the merchant's CODES products through `codes_add`."""
        if not is_merchant(request.user):
            raise PermissionDenied
        form = CodesUploadForm(request.POST or None, request.FILES or None, merchant=request.user)
        if request.method == "POST" and form.is_valid():
            product = form.cleaned_data["product"]
            try:
                added = codes_add(product_id=product.id, merchant=request.user, codes=form.cleaned_data["code_list"])
            except (ProductNotFound, NotProductOwner) as exc:
                raise Http404(exc.detail) from exc
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(
                    request,
                    f"{product.name}: added {added.added} code(s), skipped {added.skipped} duplicate(s); "
                    f"{added.available_units} available.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("merchant:delivery_code_changelist"))
        return delivery_form_page(
            self,
            request,
            form=form,
            title="Upload codes",
            intro=f"Up to {CODES_PER_UPLOAD} codes per upload; a code already in the product's pool is skipped. "
            "Each code is stored encrypted and shown only to the buyer it is delivered to.",
            submit_label="Upload codes",
            cancel_url=reverse("merchant:delivery_code_changelist"),
        )
