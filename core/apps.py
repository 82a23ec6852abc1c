from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: errors, money, pagination, idempotency keys, logging, the Stripe gateway.

    An app only because it owns a model (idempotency keys); it imports no other app.
    """

    name = "core"
    verbose_name = "Core"
