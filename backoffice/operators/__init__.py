"""The operators' pages (`/admin/`, `operator_site`): one module per area of the platform."""

from backoffice.operators import (  # noqa: F401
    accounts,
    catalog,
    delivery,
    notifications,
    orders,
    outbox,
    reconciliation,
    wallets,
)
