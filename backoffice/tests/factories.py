"""Helpers for the back office tests: accounts of each kind, real sales through the services, the refund action."""

from accounts.tests.factories import UserFactory
from orders.models import Order, PaymentMethod
from orders.services import order_purchase
from wallets.tests.factories import fund_wallet


def operator(**fields):
    return UserFactory(is_staff=True, is_superuser=True, **fields)


def sale(product, *, quantity: int = 1, buyer=None) -> Order:
    """Buy `quantity` units of `product` from a freshly funded buyer's wallet (a COMPLETED order)."""
    if buyer is None:
        buyer = UserFactory()
        fund_wallet(buyer, "1000.00")
    return order_purchase(buyer=buyer, product_id=product.id, quantity=quantity, method=PaymentMethod.WALLET)


def refund_action(client, changelist: str, action: str, *orders: Order, follow: bool = True, **form):
    """Submit the refund action's form (`apply`) for `orders`, with `form`'s amount and reason if given."""
    data = {"action": action, "_selected_action": [str(order.id) for order in orders], "apply": "Refund", **form}
    return client.post(changelist, data, follow=follow)
