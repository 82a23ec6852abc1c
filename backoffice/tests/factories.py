"""Helpers for the back office tests: accounts of each kind, real sales through the services, the refund action."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.tests.factories import UserFactory
from orders.models import Order, PaymentMethod
from orders.services import order_purchase
from reconciliation.tests.helpers import ledger_triggers_disabled
from wallets.models import LedgerEntry
from wallets.tests.factories import fund_wallet


def operator(**fields):
    return UserFactory(is_staff=True, is_superuser=True, **fields)


def sale(product, *, quantity: int = 1, buyer=None) -> Order:
    """Buy `quantity` units of `product` from a freshly funded buyer's wallet (a COMPLETED order)."""
    if buyer is None:
        buyer = UserFactory()
        fund_wallet(buyer, "1000.00")
    return order_purchase(buyer=buyer, product_id=product.id, quantity=quantity, method=PaymentMethod.WALLET)


def days_ago(order: Order, days: int, *, hour: int = 12) -> Order:
    """Move `order` and its ledger entries to `hour` o'clock UTC, `days` UTC days ago (as only a DBA could)."""
    today = timezone.now().astimezone(UTC).date()
    moment = datetime.combine(today - timedelta(days=days), datetime.min.time(), UTC) + timedelta(hours=hour)
    Order.objects.filter(id=order.id).update(created_at=moment)
    with ledger_triggers_disabled():
        LedgerEntry.objects.filter(order_id=order.id).update(created_at=moment)
    order.created_at = moment
    return order


def refund_action(client, changelist: str, action: str, *orders: Order, follow: bool = True, **form):
    """Submit the refund action's form (`apply`) for `orders`, with `form`'s amount and reason if given."""
    data = {"action": action, "_selected_action": [str(order.id) for order in orders], "apply": "Refund", **form}
    return client.post(changelist, data, follow=follow)
