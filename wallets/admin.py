"""Operators' view of the ledger: wallets (freeze/unfreeze through the services), journals and entries read-only.

Nothing here adds, edits or deletes money: balances only change through
`wallets.services`, entries are immutable (the database rejects UPDATE and
DELETE anyway), and even a wallet's change form is view-only, so saving it can
never write back a stale balance.
"""

import uuid

from django.contrib import admin, messages
from django.db.models import Q

from wallets import services
from wallets.models import Journal, LedgerEntry, Wallet


class ReadOnlyAdminMixin:
    """No add, change or delete: the admin only shows these rows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class UUIDSearchMixin:
    """Let the search box find a row by an exact id (or order id) pasted in, besides the text fields."""

    uuid_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        by_id = Q()
        for field in self.uuid_search_fields:
            by_id |= Q(**{field: value})
        return results | queryset.filter(by_id), may_have_duplicates


@admin.register(Wallet)
class WalletAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "kind", "balance", "currency", "is_frozen", "entry_count", "updated_at"]
    list_filter = ["kind", "is_frozen"]
    search_fields = ["user__email"]
    uuid_search_fields = ("id", "user__id")
    list_select_related = ["user"]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["freeze", "unfreeze"]
    fields = ["id", "kind", "user", "balance", "currency", "is_frozen", "entry_count", "created_at", "updated_at"]
    readonly_fields = fields

    def has_freeze_permission(self, request) -> bool:
        return request.user.has_perm("wallets.change_wallet")

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


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ["wallet", "type", "amount", "balance_before", "balance_after", "sequence", "description", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Journal)
class JournalAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "description", "order_id", "created_by", "created_at"]
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


@admin.register(LedgerEntry)
class LedgerEntryAdmin(UUIDSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "wallet", "type", "amount", "balance_after", "sequence", "order_id", "created_at"]
    list_filter = ["type", "wallet__kind"]
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
