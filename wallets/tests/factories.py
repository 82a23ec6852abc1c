"""Test helpers for wallets: every user already has a wallet (created with the account)."""

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from wallets.locks import wallets_lock
from wallets.models import EntryType, Journal, JournalKind, LedgerEntry, Wallet, WalletKind
from wallets.services import Leg, Posting, ledger_post, system_wallet


def wallet_of(user) -> Wallet:
    """Return the user's wallet, fresh from the database."""
    return Wallet.objects.get(user=user, kind=WalletKind.USER)


def post_legs(*, kind: str, legs: Sequence[Leg], **options) -> Posting:
    """Lock the user wallets of `legs` and post them in one transaction, as a service does."""
    with transaction.atomic():
        wallets = wallets_lock(user_ids={leg.wallet.user_id for leg in legs if leg.wallet.kind == WalletKind.USER})
        return ledger_post(wallets=wallets, kind=kind, legs=legs, **options)


def fund_wallet(user, amount: str | Decimal = "100.00") -> Wallet:
    """Credit the user's wallet with a real DEPOSIT journal (not bound by MAXIMUM_DEPOSIT) and return it."""
    amount = Decimal(amount)
    wallet = wallet_of(user)
    post_legs(
        kind=JournalKind.DEPOSIT,
        description="Test funding",
        legs=[
            Leg(wallet=wallet, amount=amount, entry_type=EntryType.DEPOSIT, description="Test funding"),
            Leg(wallet=system_wallet(kind=WalletKind.EXTERNAL), amount=-amount, entry_type=EntryType.DEPOSIT),
        ],
    )
    wallet.refresh_from_db()
    return wallet


def assert_ledger_consistent() -> None:
    """Check the ledger invariants over every row: chains, sequences, balances, zero-sum journals."""
    for journal in Journal.objects.prefetch_related("entries"):
        entries = list(journal.entries.all())
        assert len(entries) >= 2, journal
        assert sum(entry.amount for entry in entries) == 0, journal
    for wallet in Wallet.objects.filter(kind=WalletKind.USER):
        entries = list(LedgerEntry.objects.filter(wallet=wallet).order_by("sequence"))
        assert [entry.sequence for entry in entries] == list(range(1, len(entries) + 1)), wallet
        balance = Decimal("0.00")
        for entry in entries:
            assert entry.balance_before == balance, entry
            assert entry.balance_after == entry.balance_before + entry.amount, entry
            balance = entry.balance_after
        assert wallet.balance == balance, wallet
        assert wallet.entry_count == len(entries), wallet
    for wallet in Wallet.objects.exclude(kind=WalletKind.USER):
        assert wallet.balance == 0, wallet
        assert not LedgerEntry.objects.filter(wallet=wallet, sequence__isnull=False).exists(), wallet
