"""Shared helpers for the orders tests: funded buyers, ledger sums."""

from decimal import Decimal

from django.db.models import Sum

from accounts.tests.factories import UserFactory
from wallets.models import LedgerEntry, Wallet, WalletKind
from wallets.services import wallet_deposit


def funded_buyer(amount: str = "1000.00"):
    buyer = UserFactory()
    if Decimal(amount):
        wallet_deposit(user=buyer, amount=Decimal(amount))
    return buyer


def balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


def platform_revenue() -> Decimal:
    total = LedgerEntry.objects.filter(wallet__kind=WalletKind.PLATFORM_REVENUE).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0.00")


def entries_for_order(order_id) -> dict[str, Decimal]:
    """Return {entry type: summed amount} of every ledger entry that points at the order."""
    rows = LedgerEntry.objects.filter(order_id=order_id).values_list("type", "amount")
    sums: dict[str, Decimal] = {}
    for entry_type, amount in rows:
        sums[entry_type] = sums.get(entry_type, Decimal("0")) + amount
    return sums


def assert_ledger_balanced():
    """Every journal sums to zero, so the whole ledger does too; user balances equal their entries."""
    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] in (None, Decimal("0"), Decimal("0.00"))
    for wallet in Wallet.objects.filter(kind=WalletKind.USER):
        total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert wallet.balance == total, wallet.id
