"""Models the back offices show that the apps do not name themselves: views onto their rows, no tables."""

from wallets.models import LedgerEntry


class MerchantReceivable(LedgerEntry):
    """An entry on the receivables account: what a merchant owes, from a refund its balance could not cover.

    A proxy of the ledger entry, so operators get a page of their own for these
    (a refund made in Stripe's dashboard cannot be refused, so what the
    merchant's wallet lacked is booked here instead).
    """

    class Meta:
        proxy = True
        verbose_name = "merchant receivable"
