from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The shared kernel: errors, money, pagination, idempotency keys, logging, the Stripe gateway.

    An app only because it owns a model (idempotency keys); it imports no other app.
    """

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="core.cache_table")


def _create_cache_table(*, using: str, **kwargs) -> None:
    # The embedded default's cache is a table (core/cache.py): every `migrate` makes sure it
    # exists, so no setup step is left for a newcomer. Nothing to do with Redis configured.
    call_command("createcachetable", database=using, verbosity=0)
