"""Every reconciliation check, in the order a run reports them.

The database checks run together in one read-only snapshot; the gateway
checks (Stripe for each card order, and the events from Stripe that failed to
apply) run after it and only when asked for. Each check is declared next to its SQL (`@check` in
`reconciliation.checks.base`); this is the one list of them.
"""

from reconciliation.checks.base import Check
from reconciliation.checks.delivery import check_code_stock, check_codes_sold_once, check_order_deliveries
from reconciliation.checks.gateway import check_failed_webhook_events, check_gateway_payments
from reconciliation.checks.ledger import (
    check_balance_chains,
    check_journal_sums,
    check_ledger_sum,
    check_negative_balances,
    check_wallet_balances,
)
from reconciliation.checks.orders import (
    check_order_journals,
    check_product_stock,
    check_stale_pending_orders,
    check_stale_pending_refunds,
)

LEDGER_CHECKS: tuple[Check, ...] = (
    check_wallet_balances,
    check_ledger_sum,
    check_journal_sums,
    check_negative_balances,
    check_balance_chains,
)
ORDER_CHECKS: tuple[Check, ...] = (
    check_order_journals,
    check_product_stock,
    check_stale_pending_orders,
    check_stale_pending_refunds,
)
DELIVERY_CHECKS: tuple[Check, ...] = (check_code_stock, check_order_deliveries, check_codes_sold_once)
DATABASE_CHECKS: tuple[Check, ...] = (*LEDGER_CHECKS, *ORDER_CHECKS, *DELIVERY_CHECKS)
GATEWAY_CHECKS: tuple[Check, ...] = (check_gateway_payments, check_failed_webhook_events)
