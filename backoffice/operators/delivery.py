"""Operators' pages for delivery: every order's entitlement, every code (by hint), the files, the revocations.

All read-only. The one write is revocation, of a whole entitlement or of one
delivered code, with a reason: it goes through `delivery.services.deliveries`
(the same locks as a refund's), which records who revoked what and why in a
`Revocation`, the append-only journal listed here.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from backoffice.delivery import delivery_form_page
from backoffice.shared import ReadOnlyAdminMixin, UUIDSearchMixin, act_on_each
from backoffice.sites import operator_site
from delivery.models import Code, Delivery, ProductFile, Revocation
from delivery.services.deliveries import code_revoke_by_operator, delivery_revoke_by_operator


class RevocationForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded with the revocation."
    )


def revoke_selected(model_admin, request, queryset, *, noun: str, revoke) -> object:
    """Ask for a reason, then revoke each selected row with `revoke(row, reason)`; report each outcome."""
    form = RevocationForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        hidden = [("action", request.POST.get("action", ""))]
        hidden += [(ACTION_CHECKBOX_NAME, row.pk) for row in queryset]
        return delivery_form_page(
            model_admin,
            request,
            form=form,
            title=f"Revoke {queryset.count()} {noun}(s)",
            intro="The buyer keeps the order and its money; what it delivered stops working "
            "(downloads answer 410, license keys report REVOKED). This cannot be undone.",
            details=[(noun.capitalize(), str(row)) for row in queryset],
            hidden=hidden,
            submit_label="Revoke",
            cancel_url=reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"),
        )
    reason = form.cleaned_data["reason"]
    act_on_each(
        model_admin,
        request,
        queryset,
        lambda row: revoke(row, reason),
        label=str,
        done=f"Revoked {{count}} {noun}(s).",
    )
    return None


@admin.register(Delivery, site=operator_site)
class DeliveryAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_id", "product", "buyer", "status", "downloads_used", "delivered_at", "revoked_at"]
    list_filter = ["status"]
    list_select_related = ["product", "buyer"]
    search_fields = ["buyer__email", "product__name"]
    uuid_search_fields = ("id", "order_id")
    ordering = ["-created_at", "-id"]
    fields = [
        "id",
        "order_id",
        "product",
        "buyer",
        "status",
        "downloads_used",
        "created_at",
        "delivered_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke_entitlements"]

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("delivery.change_delivery")

    @admin.action(description="Revoke selected entitlements (with a reason)", permissions=["revoke"])
    def revoke_entitlements(self, request, queryset):
        return revoke_selected(
            self,
            request,
            queryset,
            noun="entitlement",
            revoke=lambda delivery, reason: delivery_revoke_by_operator(
                order_id=delivery.order_id, actor=request.user, reason=reason
            ),
        )


@admin.register(Code, site=operator_site)
class CodeAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Codes by hint only: operators never see a code in clear either."""

    list_display = ["hint", "product", "status", "order_id", "created_at", "deleted_at"]
    list_filter = ["status"]
    list_select_related = ["product", "delivery"]
    search_fields = ["product__name", "hint"]
    uuid_search_fields = ("id", "delivery__order_id")
    ordering = ["-created_at", "-id"]
    fields = ["id", "hint", "product", "status", "order_id", "created_at", "updated_at", "deleted_at"]
    readonly_fields = fields
    actions = ["revoke_codes"]

    @admin.display(description="order")
    def order_id(self, code: Code):
        return code.delivery.order_id if code.delivery else None

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("delivery.change_code")

    @admin.action(description="Revoke selected delivered codes (with a reason)", permissions=["revoke"])
    def revoke_codes(self, request, queryset):
        return revoke_selected(
            self,
            request,
            queryset,
            noun="code",
            revoke=lambda code, reason: code_revoke_by_operator(code_id=code.id, actor=request.user, reason=reason),
        )


@admin.register(ProductFile, site=operator_site)
class ProductFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["file_name", "product", "size", "sha256", "uploaded_at"]
    list_select_related = ["product"]
    search_fields = ["file_name", "product__name", "sha256"]
    ordering = ["-uploaded_at"]
    fields = ["product", "file_name", "size", "sha256", "uploaded_at", "storage_name"]
    readonly_fields = fields


@admin.register(Revocation, site=operator_site)
class RevocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The revocations journal: who revoked which code or entitlement, when and why. Append-only."""

    list_display = ["created_at", "actor", "code", "delivery", "reason"]
    list_select_related = ["actor", "code", "delivery"]
    search_fields = ["reason", "actor__email"]
    ordering = ["-created_at", "-id"]
    fields = ["id", "created_at", "actor", "code", "delivery", "reason"]
    readonly_fields = fields
