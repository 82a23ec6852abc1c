"""Running `manage.py reconcile` as a shell would, and tampering with the books as only a DBA could."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.utils import timezone

from catalog.models import Product
from delivery.models import Delivery, DeliveryStatus
from orders.models import Order, OrderStatus, PaymentMethod

CHECK_NAMES = [
    "wallet_balances",
    "ledger_sum",
    "journal_sums",
    "negative_balances",
    "balance_chains",
    "order_journals",
    "product_stock",
    "stale_pending_orders",
    "stale_pending_refunds",
    "code_stock",
    "order_deliveries",
    "codes_sold_once",
]

# Migration wallets 0003's triggers, which reject UPDATE and DELETE on the ledger.
LEDGER_TRIGGERS = {
    "wallets_ledgerentry": "wallets_ledgerentry_immutable",
    "wallets_journal": "wallets_journal_immutable",
}


def reconcile(*args: str, stderr=None) -> tuple[int, str, str]:
    """Run the command in-process; return (exit code, stdout, stderr) as a shell would see them."""
    out, err = StringIO(), stderr if stderr is not None else StringIO()
    try:
        call_command("reconcile", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def reconcile_json(*args: str) -> tuple[int, dict]:
    code, out, _ = reconcile("--json", *args)
    return code, json.loads(out)


def check_of(document: dict, name: str) -> dict:
    return next(check for check in document["checks"] if check["name"] == name)


def failing(document: dict) -> dict[str, list[str]]:
    """Return {check name: examples} of the checks that found something."""
    return {check["name"]: check["examples"] for check in document["checks"] if not check["ok"]}


def _set_triggers(action: str) -> None:
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred foreign-key checks of this transaction are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in LEDGER_TRIGGERS.items():
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {trigger}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def ledger_triggers_disabled() -> Iterator[None]:
    """Let the test tamper with journals and entries as only a DBA could; the triggers come back after."""
    _set_triggers("DISABLE")
    try:
        yield
    finally:
        _set_triggers("ENABLE")


def delivery_as_status_implies(order: Order) -> None:
    """Write or move the order's delivery (a NONE product's) to what the order's status implies."""
    status = {
        OrderStatus.COMPLETED: DeliveryStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED: DeliveryStatus.DELIVERED,
        OrderStatus.REFUNDED: DeliveryStatus.REVOKED,
    }.get(order.status, DeliveryStatus.PENDING)
    now = timezone.now()
    Delivery.objects.update_or_create(
        order_id=order.id,
        defaults={
            "buyer_id": order.buyer_id,
            "product_id": order.product_id,
            "status": status,
            "delivered_at": now,
            "revoked_at": now if status == DeliveryStatus.REVOKED else None,
        },
    )


def unpaid_order(shop, *, status: str, method: str = PaymentMethod.GATEWAY, **fields) -> Order:
    """Write an order row directly (no service, no journal) with its delivery, taking its units if it holds any."""
    product = shop["product"]
    order = Order.objects.create(
        buyer=shop["buyer"],
        merchant=shop["merchant"],
        product=product,
        product_name=product.name,
        unit_price=product.price,
        quantity=1,
        total_amount=product.price,
        fee_amount=Decimal("0.50"),
        currency="USD",
        status=status,
        payment_method=method,
        **fields,
    )
    if status in (OrderStatus.PENDING, OrderStatus.COMPLETED):
        Product.objects.filter(id=product.id).update(available_units=F("available_units") - 1)
    delivery_as_status_implies(order)
    return order
