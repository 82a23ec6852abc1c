"""Receivers that keep the wallets every account and every posting relies on in place.

- Every new account gets its wallet in the account's own transaction. A
  receiver rather than a call in `user_register`: accounts must not import
  wallets (the arrows point wallets → accounts), yet the wallet has to exist
  from the first moment the account does. post_save runs inside the transaction
  that inserts the user, so a registration that fails later leaves neither
  behind. Creating an empty wallet moves no money, so this is not ledger logic
  in a signal.
- The system accounts exist after every `migrate` and `flush`, as Django keeps
  its content types and permissions: a migration creates them once, and
  post_migrate (which `flush` sends too) puts back any that a flush emptied, so
  `system_wallet` can name them by id without a query.
"""

from django.apps import apps as global_apps
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from wallets.models import SYSTEM_WALLET_IDS, Wallet, WalletKind


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="wallets.create_wallet_for_new_user")
def create_wallet_for_new_user(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    # raw: rows loaded by loaddata bring their own wallets in the same fixture.
    if created and not raw:
        Wallet.objects.create(user=instance, kind=WalletKind.USER)


def create_system_accounts(*, using: str, apps=global_apps, **kwargs) -> None:
    try:
        model = apps.get_model("wallets", "Wallet")
    except LookupError:
        # Migrated back to before the wallets app: nothing to create.
        return
    for kind, wallet_id in SYSTEM_WALLET_IDS.items():
        model.objects.using(using).get_or_create(id=wallet_id, defaults={"kind": kind})
