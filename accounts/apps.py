from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI extension of the authentication class (drf-spectacular finds it by import).
        from accounts import schema  # noqa: F401
