"""Reads of wallets and their history."""

from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from wallets.models import LedgerEntry, Wallet, WalletKind


def wallet_get_for_user(*, user) -> Wallet:
    """Return the user's wallet (404 if the account somehow has none)."""
    return get_object_or_404(Wallet, user=user, kind=WalletKind.USER)


def entry_list_for_wallet(*, wallet: Wallet, entry_type: str | None = None) -> QuerySet[LedgerEntry]:
    """Return a user wallet's entries newest first (by sequence, served by the (wallet, sequence) index)."""
    entries = LedgerEntry.objects.filter(wallet=wallet)
    if entry_type:
        entries = entries.filter(type=entry_type)
    return entries.order_by("-sequence")


class WalletHistory:
    """A user wallet's entries newest first, paged by sequence range instead of OFFSET and COUNT(*).

    Sequences run 1..entry_count without gaps (given under the wallet lock, in
    the transaction that updates entry_count; entries are never deleted), so
    positions [start, stop) of the newest-first list are the sequences
    (count - stop, count - start]. Page 50,000 of a wallet with a million
    entries then costs what page 1 does: one range scan of the (wallet,
    sequence) index. Entries committed after `wallet` was read have higher
    sequences and stay out, so count and pages agree.
    """

    ordered = True  # for Django's Paginator: the order is well-defined

    def __init__(self, wallet: Wallet):
        self.wallet_id = wallet.id
        self.total = wallet.entry_count

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, window: slice) -> list[LedgerEntry]:
        if not isinstance(window, slice) or window.step is not None:
            raise TypeError("WalletHistory supports plain slices only.")
        start = max(window.start or 0, 0)
        stop = self.total if window.stop is None else min(window.stop, self.total)
        if start >= stop:
            return []
        return list(
            LedgerEntry.objects.filter(
                wallet_id=self.wallet_id, sequence__gt=self.total - stop, sequence__lte=self.total - start
            ).order_by("-sequence")
        )


def entry_history_for_wallet(*, wallet: Wallet, entry_type: str | None = None) -> "WalletHistory | QuerySet":
    """Return what the history endpoint pages over: the sequence-ranged history, or a type-filtered queryset."""
    if entry_type:
        return entry_list_for_wallet(wallet=wallet, entry_type=entry_type)
    return WalletHistory(wallet)


def entry_balance_before(*, wallet: Wallet, moment: datetime) -> Decimal:
    """Return the user wallet's balance just before `moment`: the balance after its last earlier entry, or 0."""
    last = (
        LedgerEntry.objects.filter(wallet=wallet, created_at__lt=moment)
        .order_by("-sequence")
        .values_list("balance_after", flat=True)
        .first()
    )
    return Decimal("0.00") if last is None else last


def entry_list_between(*, wallet: Wallet, start: datetime, end: datetime) -> QuerySet[LedgerEntry]:
    """Return the user wallet's entries made in [start, end), oldest first (in the order of its balance chain)."""
    return LedgerEntry.objects.filter(wallet=wallet, created_at__gte=start, created_at__lt=end).order_by("sequence")
