"""The double-entry ledger: wallets, journals (one per money movement) and their entries.

User wallets keep a running `balance` (locked and updated by the services) and
number their entries 1, 2, 3 … in `sequence`. System accounts (external funds,
platform revenue, gateway clearing, adjustments) are append-only: their
`balance` column stays 0 and is never locked, so they cannot become a hot row;
their balance is the sum of their entries. Entries and journals are immutable:
a database trigger (migration 0003) rejects UPDATE and DELETE on them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from core.money import MoneyField


def default_currency() -> str:
    # A callable, so a deployment's CURRENCY is not frozen into the migration.
    return settings.CURRENCY


class WalletKind(models.TextChoices):
    USER = "USER", "User wallet"
    EXTERNAL = "EXTERNAL", "External funds (deposits and withdrawals)"
    PLATFORM_REVENUE = "PLATFORM_REVENUE", "Platform revenue (fees)"
    GATEWAY_CLEARING = "GATEWAY_CLEARING", "Card gateway clearing"
    ADJUSTMENTS = "ADJUSTMENTS", "Operator adjustments"
    # What merchants owe the platform: the part of a refund that could not be
    # refused (it was made at Stripe) and exceeded the merchant's balance.
    RECEIVABLES = "RECEIVABLES", "Merchant receivables"


# System accounts have fixed ids, the same in every environment, so they can be
# referenced without a query and recreated exactly after a flush (wallets.signals).
SYSTEM_WALLET_IDS = {
    WalletKind.EXTERNAL: uuid.UUID("00000000-0000-4000-8000-000000000001"),
    WalletKind.PLATFORM_REVENUE: uuid.UUID("00000000-0000-4000-8000-000000000002"),
    WalletKind.GATEWAY_CLEARING: uuid.UUID("00000000-0000-4000-8000-000000000003"),
    WalletKind.ADJUSTMENTS: uuid.UUID("00000000-0000-4000-8000-000000000004"),
    WalletKind.RECEIVABLES: uuid.UUID("00000000-0000-4000-8000-000000000005"),
}


class JournalKind(models.TextChoices):
    """What a money movement is; each journal has exactly one kind."""

    DEPOSIT = "DEPOSIT", "Deposit"
    WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
    PURCHASE = "PURCHASE", "Purchase"
    REFUND = "REFUND", "Refund"
    ADJUSTMENT = "ADJUSTMENT", "Adjustment"


class EntryType(models.TextChoices):
    """The type of one leg of a journal.

    The first seven are the API's transaction types (what a user wallet shows).
    FEE and FEE_REVERSAL only appear on the platform revenue account. The legs
    on EXTERNAL / GATEWAY_CLEARING / ADJUSTMENTS carry the type of the movement
    they balance (a deposit's external leg is a DEPOSIT of the negated amount).
    """

    DEPOSIT = "DEPOSIT", "Deposit"
    WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
    PURCHASE = "PURCHASE", "Purchase"
    SALE = "SALE", "Sale"
    REFUND = "REFUND", "Refund"
    SALE_REVERSAL = "SALE_REVERSAL", "Sale reversal"
    ADJUSTMENT = "ADJUSTMENT", "Adjustment"
    FEE = "FEE", "Platform fee"
    FEE_REVERSAL = "FEE_REVERSAL", "Platform fee reversal"


# The transaction types of the API, the only ones a user wallet's history shows.
API_ENTRY_TYPES = (
    EntryType.DEPOSIT,
    EntryType.WITHDRAWAL,
    EntryType.PURCHASE,
    EntryType.SALE,
    EntryType.REFUND,
    EntryType.SALE_REVERSAL,
    EntryType.ADJUSTMENT,
)


class Wallet(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=WalletKind.choices, default=WalletKind.USER)
    # PROTECT: an account with money history is deactivated, never deleted.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="wallet"
    )
    balance = MoneyField(default=0)
    currency = models.CharField(max_length=3, default=default_currency)
    is_frozen = models.BooleanField(default=False)
    # The last `sequence` given to an entry of this wallet (user wallets only).
    entry_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=WalletKind.values), name="wallet_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind=WalletKind.USER) & Q(user__isnull=False))
                | (~Q(kind=WalletKind.USER) & Q(user__isnull=True)),
                name="wallet_user_iff_user_kind",
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=~Q(kind=WalletKind.USER), name="wallet_one_account_per_system_kind"
            ),
            models.CheckConstraint(
                condition=~Q(kind=WalletKind.USER) | Q(balance__gte=0), name="wallet_user_balance_non_negative"
            ),
        ]

    def __str__(self) -> str:
        if self.kind == WalletKind.USER:
            return f"Wallet of {self.user}"
        return self.get_kind_display()

    @property
    def is_system(self) -> bool:
        return self.kind != WalletKind.USER


class Journal(models.Model):
    """One money movement; its entries sum to zero."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=JournalKind.choices)
    description = models.CharField(max_length=255, blank=True)
    # An order id, not a foreign key: wallets never imports orders.
    order_id = models.UUIDField(null=True, blank=True)
    # The operator behind an adjustment.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=JournalKind.values), name="journal_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="journal_created_at_idx"),
            models.Index(fields=["order_id"], condition=Q(order_id__isnull=False), name="journal_order_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"


class LedgerEntry(models.Model):
    """One leg of a journal: a signed amount on one wallet. Never updated, never deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    # No separate index: the (wallet, sequence) unique index leads with wallet.
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False)
    type = models.CharField(max_length=16, choices=EntryType.choices)
    amount = MoneyField()
    # Null on system accounts, which keep no running balance.
    balance_before = MoneyField(null=True, blank=True)
    balance_after = MoneyField(null=True, blank=True)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=255, blank=True)
    order_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_non_zero"),
            models.CheckConstraint(condition=Q(type__in=EntryType.values), name="entry_type_valid"),
            models.CheckConstraint(
                condition=(
                    Q(balance_before__isnull=True, balance_after__isnull=True, sequence__isnull=True)
                    | Q(
                        balance_before__isnull=False,
                        balance_after__isnull=False,
                        sequence__gte=1,
                        # Rounded to the cent: exact on PostgreSQL's numeric, and on
                        # SQLite (which compares decimals as floats) 0.10 + 0.20 == 0.30.
                        balance_after=Round(F("balance_before") + F("amount"), 2),
                    )
                ),
                name="entry_balance_chain",
            ),
            # Also the index behind a wallet's history, newest first (scanned backwards).
            models.UniqueConstraint(fields=["wallet", "sequence"], name="entry_unique_wallet_sequence"),
        ]
        indexes = [
            models.Index(fields=["wallet", "type", "-sequence"], name="entry_wallet_type_seq_idx"),
            models.Index(fields=["order_id"], condition=Q(order_id__isnull=False), name="entry_order_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} on {self.wallet_id}"
