"""Operators' pages for the ledger: wallets (freeze/unfreeze through the services), journals and entries read-only.

Nothing here adds, edits or deletes money: balances only change through
`wallets.services`, entries are immutable (the database rejects UPDATE and
DELETE anyway), and even a wallet's change form is view-only, so saving it can
never write back a stale balance. The one way an operator moves money is the
wallet's "Adjust balance" form, which posts an ADJUSTMENT journal through
`wallet_adjust` with the operator recorded on it.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, OuterRef, Subquery, Sum, When
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice.models import MerchantReceivable
from backoffice.shared import (
    DateRangeFilter,
    ReadOnlyAdminMixin,
    ReportListMixin,
    UUIDSearchMixin,
    short_datetime,
    short_id,
)
from backoffice.sites import operator_site
from core.errors import ApplicationError
from core.money import MoneyField, quantize
from orders.models import Order
from wallets import services
from wallets.models import SYSTEM_WALLET_IDS, Journal, LedgerEntry, Wallet, WalletKind


class WalletAdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Signed: 12.50 credits the wallet, -12.50 debits it. The balance never goes below zero.",
    )
    reason = forms.CharField(
        max_length=255,
        help_text="Why: stored on the journal and shown in the owner's transaction history.",
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("An adjustment cannot be zero.")
        # "-5" and "-5.00" are one amount; messages and the journal show it with cents.
        return quantize(amount)


@admin.register(Wallet, site=operator_site)
class WalletAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "kind", "shown_balance", "currency", "is_frozen", "entry_count", "updated_at"]
    list_filter = ["kind", "is_frozen"]
    search_fields = ["user__email"]
    uuid_search_fields = ("id", "user__id")
    list_select_related = ["user"]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["freeze", "unfreeze"]
    change_form_template = "backoffice/operators/wallet_change_form.html"
    fields = [
        "id",
        "kind",
        "user",
        "shown_balance",
        "currency",
        "is_frozen",
        "entry_count",
        "ledger",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # A system account keeps no running balance (its row says 0.00): its
        # balance is the sum of its entries, one subquery per system row shown.
        entries_sum = (
            LedgerEntry.objects.filter(wallet=OuterRef("pk"))
            .values("wallet")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                computed_balance=Case(
                    When(kind=WalletKind.USER, then=F("balance")),
                    default=Subquery(entries_sum),
                    output_field=MoneyField(),
                )
            )
        )

    @admin.display(description="balance", ordering="computed_balance")
    def shown_balance(self, wallet: Wallet):
        # SQLite sums decimals as floats; to the cent, as the ledger rounds.
        return quantize(Decimal(wallet.computed_balance or 0))

    @admin.display(description="ledger entries")
    def ledger(self, wallet: Wallet) -> str:
        url = reverse("admin:wallets_ledgerentry_changelist", current_app=self.admin_site.name)
        label = "1 entry" if wallet.entry_count == 1 else f"{wallet.entry_count} entries"
        return format_html('<a href="{}?wallet__id__exact={}">{}</a>', url, wallet.pk, label)

    def has_freeze_permission(self, request) -> bool:
        return request.user.has_perm("wallets.change_wallet")

    def has_adjust_permission(self, request) -> bool:
        return request.user.has_perm("wallets.change_wallet")

    def get_urls(self):
        adjust = path(
            "<path:object_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_adjust",
        )
        return [adjust, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {"has_adjust_permission": self.has_adjust_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request, object_id):
        """Post a signed ADJUSTMENT through `wallet_adjust`, the operator and a reason recorded on the journal."""
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        wallet = self.get_object(request, unquote(object_id))
        if wallet is None or wallet.is_system:
            # System accounts move only as the other leg of a user movement.
            raise Http404("No user wallet with this id.")
        form = WalletAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
            try:
                entry = services.wallet_adjust(wallet=wallet, amount=amount, reason=reason, operator=request.user)
            except ApplicationError as exc:
                # Insufficient funds and the like: nothing was written; say why and keep the form.
                self.message_user(request, f"Adjustment refused: {exc.detail}", messages.ERROR)
            else:
                self.log_change(request, wallet, f"Adjusted by {amount:+} ({reason}).")
                self.message_user(
                    request,
                    f"Adjusted {wallet} by {amount:+}; the balance is now {entry.balance_after}.",
                    messages.SUCCESS,
                )
                change_url = reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[quote(wallet.pk)],
                    current_app=self.admin_site.name,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust the balance of {wallet}",
            "opts": self.opts,
            "original": wallet,
            "form": form,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "backoffice/operators/wallet_adjust.html", context)

    @admin.action(description="Freeze selected user wallets", permissions=["freeze"])
    def freeze(self, request, queryset):
        self._set_frozen(request, queryset, services.wallet_freeze, "frozen")

    @admin.action(description="Unfreeze selected user wallets", permissions=["freeze"])
    def unfreeze(self, request, queryset):
        self._set_frozen(request, queryset, services.wallet_unfreeze, "unfrozen")

    def _set_frozen(self, request, queryset, service, verb: str) -> None:
        user_wallets = [wallet for wallet in queryset if not wallet.is_system]
        for wallet in user_wallets:
            service(wallet=wallet, operator=request.user)
            self.log_change(request, wallet, f"Wallet {verb} by {request.user}.")
        skipped = len(queryset) - len(user_wallets)
        self.message_user(request, f"{len(user_wallets)} wallet(s) {verb}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} system account(s) skipped: they cannot be frozen.", messages.WARNING)


class LedgerEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ["wallet", "type", "amount", "balance_before", "balance_after", "sequence", "description", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Journal, site=operator_site)
class JournalAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [short_id("id"), "kind", "description", short_id("order_id", "order"), "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["entries__wallet__user__email", "description"]
    uuid_search_fields = ("id", "order_id")
    list_select_related = ["created_by"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [LedgerEntryInline]
    fields = ["id", "kind", "description", "order_id", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(LedgerEntry, site=operator_site)
class LedgerEntryAdmin(ReportListMixin, UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        short_id("id"),
        "wallet",
        "type",
        "amount",
        "balance_after",
        "sequence",
        short_id("order_id", "order"),
        short_datetime("created_at"),
    ]
    list_filter = ["type", "wallet__kind", ("created_at", DateRangeFilter)]
    list_totals = (("Sum of amounts", "amount"),)
    export_name = "ledger"
    export_fields = (
        ("id", "id"),
        ("created_at", "created_at"),
        ("journal_id", "journal_id"),
        ("wallet_id", "wallet_id"),
        ("wallet_kind", "wallet__kind"),
        ("owner_email", "wallet__user__email"),
        ("type", "type"),
        ("amount", "amount"),
        ("balance_before", "balance_before"),
        ("balance_after", "balance_after"),
        ("sequence", "sequence"),
        ("description", "description"),
        ("order_id", "order_id"),
    )
    search_fields = ["wallet__user__email"]
    uuid_search_fields = ("id", "order_id", "journal_id", "wallet_id")
    list_select_related = ["wallet__user"]
    ordering = ["-created_at"]
    show_full_result_count = False
    fields = [
        "id",
        "journal",
        "wallet",
        "type",
        "amount",
        "balance_before",
        "balance_after",
        "sequence",
        "description",
        "order_id",
        "created_at",
    ]
    readonly_fields = fields


@admin.register(MerchantReceivable, site=operator_site)
class MerchantReceivableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What merchants owe: the part of refunds made at Stripe that their balance could not cover.

    Nothing collects it on its own: an operator settles it with the merchant,
    then books that with an adjustment.
    """

    list_display = ["created_at", "merchant", "owed", short_id("order_id", "order"), "description"]
    search_fields = ["order_id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = None
    fields = ["id", "journal", "created_at", "merchant", "owed", "order_id", "description"]
    readonly_fields = fields

    def get_queryset(self, request):
        merchant = Order.objects.filter(id=OuterRef("order_id")).values("merchant__email")[:1]
        return (
            super()
            .get_queryset(request)
            .filter(wallet_id=SYSTEM_WALLET_IDS[WalletKind.RECEIVABLES])
            .annotate(merchant_email=Subquery(merchant))
        )

    @admin.display(description="merchant", ordering="merchant_email")
    def merchant(self, entry) -> str:
        return entry.merchant_email or "-"

    @admin.display(description="owed")
    def owed(self, entry):
        return -entry.amount
