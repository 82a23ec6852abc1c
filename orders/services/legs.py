"""The journal shapes of a sale and of a refund, shared by wallet and card orders."""

from decimal import Decimal

from wallets.models import EntryType, WalletKind
from wallets.services import Leg, system_wallet


def sale_legs(*, payer_wallet, merchant_wallet, total: Decimal, fee: Decimal) -> list[Leg]:
    """Return the legs of a sale: the payer gives `total`, the merchant gets `total - fee`, the platform `fee`.

    The payer is the buyer's wallet for WALLET orders and the gateway clearing
    account for card payments, so both kinds of sale post the same journal shape.
    """
    return _legs(
        (payer_wallet, -total, EntryType.PURCHASE),
        (merchant_wallet, total - fee, EntryType.SALE),
        (system_wallet(kind=WalletKind.PLATFORM_REVENUE), fee, EntryType.FEE),
    )


def refund_legs(
    *, payer_wallet, merchant_wallet, amount: Decimal, fee: Decimal, merchant_shortfall: Decimal = Decimal(0)
) -> list[Leg]:
    """Return the legs of a refund: a sale's legs reversed, for `amount` of it and `fee` of its fee.

    `merchant_shortfall` is the part of the merchant's share that its balance
    cannot cover, on a refund that could not be refused (made at Stripe): the
    merchant gives what it has, and the rest is booked on the receivables
    account as what the merchant owes.
    """
    share = amount - fee
    return _legs(
        (payer_wallet, amount, EntryType.REFUND),
        (merchant_wallet, -(share - merchant_shortfall), EntryType.SALE_REVERSAL),
        (system_wallet(kind=WalletKind.RECEIVABLES), -merchant_shortfall, EntryType.SALE_REVERSAL),
        (system_wallet(kind=WalletKind.PLATFORM_REVENUE), -fee, EntryType.FEE_REVERSAL),
    )


def _legs(*sides) -> list[Leg]:
    # No zero leg (a ledger entry is never zero): a zero fee, a fee that takes a
    # cent-sized total whole, or no shortfall simply has none.
    return [Leg(wallet=wallet, amount=amount, entry_type=entry_type) for wallet, amount, entry_type in sides if amount]
