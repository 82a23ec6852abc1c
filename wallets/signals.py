"""Give every new account its wallet, in the account's own transaction.

A receiver rather than a call in `user_register`: accounts must not import
wallets (the arrows point wallets → accounts), yet the wallet has to exist from
the first moment the account does. post_save runs inside the transaction that
inserts the user, so a registration that fails later leaves neither behind.
Creating an empty wallet moves no money, so this is not ledger logic in a signal.
"""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from wallets.models import Wallet, WalletKind


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="wallets.create_wallet_for_new_user")
def create_wallet_for_new_user(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    # raw: rows loaded by loaddata bring their own wallets in the same fixture.
    if created and not raw:
        Wallet.objects.create(user=instance, kind=WalletKind.USER)
