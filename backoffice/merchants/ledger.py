"""Merchants' page for their wallet ledger: their own entries, read-only, newest first."""

from django.contrib import admin

from backoffice.merchants.base import MerchantOwnedAdmin
from backoffice.shared import UUIDSearchMixin
from backoffice.sites import merchant_site
from wallets.models import LedgerEntry, WalletKind


@admin.register(LedgerEntry, site=merchant_site)
class MerchantLedgerAdmin(UUIDSearchMixin, MerchantOwnedAdmin):
    menu_label = "Wallet ledger"
    list_display = [
        "sequence",
        "created_at",
        "type",
        "amount",
        "balance_before",
        "balance_after",
        "description",
        "order_id",
    ]
    list_display_links = ["sequence"]
    list_filter = ["type"]
    search_fields = ["description"]
    uuid_search_fields = ("id", "order_id")
    date_hierarchy = "created_at"
    ordering = ["-sequence"]
    fields = ["id", *list_display]
    readonly_fields = fields
    actions = None

    def owner_id(self, obj):
        return obj.wallet.user_id

    def get_queryset(self, request):
        return LedgerEntry.objects.filter(wallet__user=request.user, wallet__kind=WalletKind.USER).select_related(
            "wallet"
        )
