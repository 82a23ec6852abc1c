"""The back offices' app: both admin sites and their pages (see `backoffice.sites`)."""

from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        # Django's admin autodiscovers nothing here (SimpleAdminConfig): importing
        # the two page packages is what registers every page on its site.
        from backoffice import merchants, operators  # noqa: F401
