"""The operators' pages (`/admin/`, `operator_site`): one module per area of the platform."""

<<<<<<< HEAD
from backoffice.operators import accounts, catalog, notifications, orders, reconciliation, wallets  # noqa: F401
=======
from backoffice.operators import accounts, catalog, orders, outbox, reconciliation, wallets  # noqa: F401
>>>>>>> i18-celery
