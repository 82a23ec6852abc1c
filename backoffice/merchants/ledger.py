"""Merchants' page for their wallet ledger: their own entries, read-only, newest first."""

from django.contrib import admin

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import DateRangeFilter, ReportListMixin, UUIDSearchMixin, short_datetime, short_id
from backoffice.sites import merchant_site
from wallets.models import LedgerEntry, WalletKind


@admin.register(LedgerEntry, site=merchant_site)
class MerchantLedgerAdmin(ReportListMixin, UUIDSearchMixin, MerchantOwnedAdmin):
    menu_label = "Wallet ledger"
    list_display = [
        "sequence",
        short_datetime("created_at"),
        "type",
        "amount",
        "balance_before",
        "balance_after",
        "description",
        short_id("order_id", "order"),
    ]
    list_display_links = ["sequence"]
    list_filter = ["type", ("created_at", DateRangeFilter)]
    list_totals = (("Net change", "amount"),)
    export_name = "ledger"
    export_fields = (
        ("sequence", "sequence"),
        ("created_at", "created_at"),
        ("type", "type"),
        ("amount", "amount"),
        ("balance_before", "balance_before"),
        ("balance_after", "balance_after"),
        ("description", "description"),
        ("order_id", "order_id"),
        ("id", "id"),
    )
    search_fields = ["description"]
    uuid_search_fields = ("id", "order_id")
    date_hierarchy = "created_at"
    ordering = ["-sequence"]
    fields = [
        "id",
        "sequence",
        "created_at",
        "type",
        "amount",
        "balance_before",
        "balance_after",
        "description",
        "order_id",
    ]
    readonly_fields = fields
    actions = None

    def owner_id(self, obj):
        return obj.wallet.user_id

    def get_queryset(self, request):
        return LedgerEntry.objects.filter(wallet__user=request.user, wallet__kind=WalletKind.USER).select_related(
            "wallet"
        )
