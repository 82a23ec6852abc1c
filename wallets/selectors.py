"""Reads of wallets and their history."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from wallets.models import LedgerEntry, Wallet, WalletKind


def wallet_get_for_user(*, user) -> Wallet:
    """Return the user's wallet (404 if the account somehow has none)."""
    return get_object_or_404(Wallet, user=user, kind=WalletKind.USER)


def entry_list_for_wallet(*, wallet: Wallet, entry_type: str | None = None) -> QuerySet[LedgerEntry]:
    """Return the wallet's entries newest first (by sequence, served by the (wallet, sequence) index)."""
    entries = LedgerEntry.objects.filter(wallet=wallet)
    if entry_type:
        entries = entries.filter(type=entry_type)
    return entries.order_by("-sequence")
