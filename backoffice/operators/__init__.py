"""The operators' pages (`/admin/`, `operator_site`): one module per area of the platform."""

from backoffice.operators import accounts, catalog, orders, outbox, reconciliation, wallets  # noqa: F401
