"""The journal shape of a sale and of its reversal, shared by wallet and card orders."""

from decimal import Decimal

from wallets.models import EntryType, WalletKind
from wallets.services import Leg, system_wallet


def sale_legs(*, payer_wallet, merchant_wallet, total: Decimal, fee: Decimal, sign: int = 1) -> list[Leg]:
    """Return the legs of a sale (sign=1) or of its reversal (sign=-1): payer, merchant, platform fee.

    The payer is the buyer's wallet for WALLET orders and the gateway clearing
    account for card payments, so both kinds of sale post the same journal shape.
    """
    payer_type, merchant_type = (
        (EntryType.PURCHASE, EntryType.SALE) if sign > 0 else (EntryType.REFUND, EntryType.SALE_REVERSAL)
    )
    legs = [Leg(wallet=payer_wallet, amount=-sign * total, entry_type=payer_type)]
    # A fee rounded up to the whole of a cent-sized total leaves the merchant
    # nothing: no zero leg then (a ledger entry is never zero), as for a zero fee.
    if total - fee:
        legs.append(Leg(wallet=merchant_wallet, amount=sign * (total - fee), entry_type=merchant_type))
    if fee:
        fee_type = EntryType.FEE if sign > 0 else EntryType.FEE_REVERSAL
        legs.append(Leg(wallet=system_wallet(kind=WalletKind.PLATFORM_REVENUE), amount=sign * fee, entry_type=fee_type))
    return legs
