from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Wallets and ledger"

    def ready(self) -> None:
        from wallets import signals

        post_migrate.connect(signals.create_system_accounts, sender=self, dispatch_uid="wallets.system_accounts")
