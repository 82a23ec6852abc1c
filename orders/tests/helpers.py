"""Shared helpers for the orders tests; the ledger ones are the wallets app's own."""

from decimal import Decimal

from django.db.models import Sum

from accounts.tests.factories import UserFactory
from core.money import to_minor_units
from core.tests.localstripe import confirm_payment_intent
from orders.models import Order
from orders.services.card import order_complete_card_payment
from wallets.models import LedgerEntry, WalletKind
from wallets.tests.factories import fund_wallet, wallet_of


def funded_buyer(amount: str = "1000.00"):
    buyer = UserFactory()
    if Decimal(amount):
        fund_wallet(buyer, amount)
    return buyer


def balance(user) -> Decimal:
    return wallet_of(user).balance


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


def card_order_pay(order: Order) -> Order:
    """Pay a PENDING card order at localstripe and complete it as its payment webhook does; return it fresh."""
    assert confirm_payment_intent(payment_intent_id=order.payment_intent_id) == "succeeded"
    order_complete_card_payment(
        order_id=order.id,
        payment_intent_id=order.payment_intent_id,
        amount_minor=to_minor_units(order.total_amount),
        currency=order.currency,
    )
    return Order.objects.get(id=order.id)
