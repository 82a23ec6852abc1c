from django.apps import AppConfig


class PaymentflowConfig(AppConfig):
    """The project package is also an app: it owns cross-cutting models (idempotency keys)."""

    name = "paymentflow"
    verbose_name = "Payment Flow"
