"""The ledger under random traffic: a hypothesis state machine against the HTTP API.

Each example creates two buyers and two merchants (merchants buy too) with
products, then applies a random sequence of deposits, withdrawals, wallet and
card purchases, card payments succeeding, failing or expiring, refunds,
restocks, wallet freezes, and Idempotency-Key replays and key reuses. A model
kept alongside predicts every balance and stock level; after every step the
database must agree with the model and with the invariants that hold whatever
happened:

- every journal sums to zero (so the whole ledger does);
- every user wallet's balance equals the sum of its entries, and is never negative;
- stock is never negative, and units_supplied - availableUnits equals the units
  held by live (PENDING or COMPLETED) orders;
- a refused request changes nothing, and a replay returns the stored answer and
  changes nothing.

Bounded (25 examples of up to 20 steps, derandomized) so it runs in seconds.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.money import percent_of, quantize
from orders.models import Order, OrderStatus
from orders.services.card import order_expire, order_fail
from orders.tests.helpers import card_order_pay
from wallets.models import Wallet, WalletKind
from wallets.services import wallet_freeze, wallet_unfreeze

pytestmark = pytest.mark.django_db

D = Decimal
FEE_PERCENT = D("2.5")
DEPOSIT, WITHDRAW, ORDERS = "/api/v1/wallet/deposit", "/api/v1/wallet/withdraw", "/api/v1/orders"

# Amounts as a client sends them: mostly valid, some at or past the limits, some malformed.
amounts = st.one_of(
    st.decimals(min_value=D("0.01"), max_value=D("300.00"), places=2).map(str),
    st.sampled_from(["0.50", "1.00", "10000.00", "10000.01", "0", "-5", "1.005", "abc"]),
)


@dataclass
class Sent:
    """A request sent with an Idempotency-Key, and what it answered."""

    user_index: int
    path: str
    body: dict
    key: str
    status: int
    data: object


@dataclass
class Model:
    """What the database must hold: balances per user, stock per product, status per order."""

    balances: list[Decimal] = field(default_factory=list)
    frozen: list[bool] = field(default_factory=list)
    available: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        merchants = [MerchantFactory(), MerchantFactory()]
        self.users = [UserFactory(), UserFactory(), *merchants]
        self.clients = [self._client_for(user) for user in self.users]
        self.products = [
            ProductFactory(merchant=merchants[0], price=D("19.99"), available_units=12),
            ProductFactory(merchant=merchants[1], price=D("45.50"), available_units=5),
            ProductFactory(merchant=merchants[1], price=D("0.99"), available_units=2, is_active=False),
        ]
        self.model = Model(
            balances=[D("0.00")] * len(self.users),
            frozen=[False] * len(self.users),
            available={product.id: product.available_units for product in self.products},
        )
        self.sent: list[Sent] = []

    @staticmethod
    def _client_for(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=user).access}")
        return client

    def _index_of(self, user_id) -> int:
        return next(i for i, user in enumerate(self.users) if user.id == user_id)

    def _post(self, user_index: int, path: str, body: dict, key: str | None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = self.clients[user_index].post(path, body, format="json", **headers)
        assert response.status_code < 500, response.content
        if key:
            self.sent.append(Sent(user_index, path, body, key, response.status_code, response.json()))
        return response

    @initialize()
    def fund_everyone(self):
        for user in range(len(self.users)):
            self._post(user, DEPOSIT, {"amount": "150.00"}, None)
            self.model.balances[user] += D("150.00")

    # --- wallet ---------------------------------------------------------------

    @rule(user=st.integers(0, 3), amount=amounts, keyed=st.booleans())
    def deposit(self, user, amount, keyed):
        response = self._post(user, DEPOSIT, {"amount": amount}, uuid.uuid4().hex if keyed else None)
        value = _parse(amount)
        if value is None:
            assert response.json()["code"] == "validation_error"
        elif value > settings.MAXIMUM_DEPOSIT:
            assert response.json()["code"] == "amount_above_maximum"
        elif self.model.frozen[user]:
            assert response.json()["code"] == "wallet_frozen"
        else:
            assert response.status_code == 201, response.content
            self.model.balances[user] += value
            assert D(response.json()["balanceAfter"]) == self.model.balances[user]

    @rule(user=st.integers(0, 3), amount=amounts, keyed=st.booleans())
    def withdraw(self, user, amount, keyed):
        response = self._post(user, WITHDRAW, {"amount": amount}, uuid.uuid4().hex if keyed else None)
        value = _parse(amount)
        if value is None:
            assert response.json()["code"] == "validation_error"
        elif value < settings.MINIMUM_WITHDRAWAL:
            assert response.json()["code"] == "amount_below_minimum"
        elif self.model.frozen[user]:
            assert response.json()["code"] == "wallet_frozen"
        elif value > self.model.balances[user]:
            assert response.json()["code"] == "insufficient_funds"
        else:
            assert response.status_code == 201, response.content
            self.model.balances[user] -= value

    @rule(user=st.integers(0, 3))
    def toggle_freeze(self, user):
        # What an operator does in the back office, through the same services.
        wallet = Wallet.objects.get(user=self.users[user])
        if self.model.frozen[user]:
            wallet_unfreeze(wallet=wallet, operator=None)
        else:
            wallet_freeze(wallet=wallet, operator=None)
        self.model.frozen[user] = not self.model.frozen[user]

    # --- purchases ------------------------------------------------------------

    @rule(
        # Mostly the two USER accounts; merchants buy too (and may not buy their own products).
        buyer=st.sampled_from([0, 1, 0, 1, 2, 3]),
        product=st.sampled_from([0, 1, 0, 1, 2]),
        quantity=st.integers(1, 3),
        method=st.sampled_from(["WALLET", "GATEWAY"]),
        keyed=st.booleans(),
    )
    def purchase(self, buyer, product, quantity, method, keyed):
        item = self.products[product]
        body = {"productId": str(item.id), "paymentMethod": method, "quantity": quantity}
        response = self._post(buyer, ORDERS, body, uuid.uuid4().hex if keyed else None)
        seller = self._index_of(item.merchant_id)
        total = quantize(item.price * quantity)
        # Every reason the purchase may be refused, given the model; a refusal must name one of them.
        reasons = set()
        if seller == buyer:
            reasons.add("cannot_buy_own_product")
        if not item.is_active:
            reasons.add("product_unavailable")
        if self.model.available[item.id] < quantity:
            reasons.add("out_of_stock")
        if method == "WALLET":
            if self.model.frozen[buyer] or self.model.frozen[seller]:
                reasons.add("wallet_frozen")
            if self.model.balances[buyer] < total:
                reasons.add("insufficient_funds")
        if reasons:
            assert response.json()["code"] in reasons, (reasons, response.content)
            return
        assert response.status_code == 201, response.content
        order = response.json()
        self.model.available[item.id] -= quantity
        fee = percent_of(total, FEE_PERCENT)
        if method == "WALLET":
            assert order["status"] == OrderStatus.COMPLETED
            self.model.balances[buyer] -= total
            self.model.balances[seller] += total - fee
        else:
            assert order["status"] == OrderStatus.PENDING
        self.model.orders[order["id"]] = order["status"]

    def _orders_in(self, status) -> list[str]:
        # In creation order, not by (random) id, so a derandomized run always draws the same orders.
        return [order_id for order_id, current in self.model.orders.items() if current == status]

    @precondition(lambda self: self._orders_in(OrderStatus.PENDING))
    @rule(data=st.data(), outcome=st.sampled_from(["paid", "failed", "expired"]))
    def card_payment(self, data, outcome):
        order = Order.objects.get(id=data.draw(st.sampled_from(self._orders_in(OrderStatus.PENDING))))
        if outcome == "paid":
            # What the payment_intent.succeeded webhook does once Stripe took the money.
            card_order_pay(order)
            self.model.balances[self._index_of(order.merchant_id)] += order.total_amount - order.fee_amount
            self.model.orders[str(order.id)] = OrderStatus.COMPLETED
            return
        if outcome == "failed":
            order_fail(order_id=order.id, reason="Card declined", source="WEBHOOK")
        else:
            order_expire(order_id=order.id)
        self.model.available[order.product_id] += order.quantity
        self.model.orders[str(order.id)] = OrderStatus.FAILED if outcome == "failed" else OrderStatus.EXPIRED

    @precondition(lambda self: self.model.orders)
    @rule(
        data=st.data(),
        # Mostly the selling merchant (who may refund); the buyer and a stranger must be refused.
        actor=st.sampled_from(["merchant", "merchant", "merchant", "buyer", "stranger"]),
        keyed=st.booleans(),
    )
    def refund(self, data, actor, keyed):
        order = Order.objects.get(id=data.draw(st.sampled_from(list(self.model.orders))))
        buyer, seller = self._index_of(order.buyer_id), self._index_of(order.merchant_id)
        strangers = [i for i in range(len(self.users)) if i not in (buyer, seller)]
        who = {"merchant": seller, "buyer": buyer, "stranger": strangers[0]}[actor]
        key = uuid.uuid4().hex if keyed else None
        response = self._post(who, f"{ORDERS}/{order.id}/refund", {}, key)
        by_card = order.payment_method == "GATEWAY"
        merchant_share = order.total_amount - order.fee_amount
        reasons = set()
        if actor == "stranger":
            reasons.add("not_found")
        if actor == "buyer":
            reasons.add("permission_denied")
        if self.model.orders[str(order.id)] != OrderStatus.COMPLETED:
            reasons.add("invalid_order_state")
        if self.model.frozen[seller] or (not by_card and self.model.frozen[buyer]):
            reasons.add("wallet_frozen")
        if self.model.balances[seller] < merchant_share:
            reasons.add("insufficient_funds")
        if reasons:
            assert response.json()["code"] in reasons, (reasons, response.content)
            return
        assert response.status_code == 200, response.content
        assert response.json()["status"] == OrderStatus.REFUNDED
        self.model.balances[seller] -= merchant_share
        if not by_card:
            self.model.balances[buyer] += order.total_amount
        self.model.available[order.product_id] += order.quantity
        self.model.orders[str(order.id)] = OrderStatus.REFUNDED

    @rule(product=st.integers(0, 2), units=st.integers(0, 8))
    def restock(self, product, units):
        item = self.products[product]
        response = self.clients[self._index_of(item.merchant_id)].patch(
            f"/api/v1/products/{item.id}", {"availableUnits": units}, format="json"
        )
        assert response.status_code == 200, response.content
        self.model.available[item.id] = units

    # --- idempotency ----------------------------------------------------------

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def replay(self, data):
        original = data.draw(st.sampled_from(self.sent))
        before = self._snapshot()
        response = self.clients[original.user_index].post(
            original.path, original.body, format="json", HTTP_IDEMPOTENCY_KEY=original.key
        )
        assert response.status_code == original.status
        assert response.json() == original.data
        # Input errors are not stored (the key is released): answering again is a re-run that is refused again.
        stored = original.status < 400 or original.data.get("code") != "validation_error"
        assert (response.get("Idempotent-Replayed") == "true") == stored
        assert self._snapshot() == before

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def reuse_key_with_another_body(self, data):
        original = data.draw(st.sampled_from(self.sent))
        if original.status == 400 and original.data.get("code") == "validation_error":
            return  # that key was released: it is free for any request
        before = self._snapshot()
        response = self.clients[original.user_index].post(
            original.path,
            {**original.body, "amount": "1.23", "quantity": 2},
            format="json",
            HTTP_IDEMPOTENCY_KEY=original.key,
        )
        assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
        assert self._snapshot() == before

    # --- invariants -----------------------------------------------------------

    def _snapshot(self) -> tuple:
        return (
            tuple(Wallet.objects.filter(user__in=self.users).order_by("user_id").values_list("balance", "entry_count")),
            tuple(Product.objects.filter(id__in=self.model.available).order_by("id").values_list("available_units")),
            tuple(Order.objects.filter(buyer__in=self.users).order_by("id").values_list("id", "status")),
        )

    @invariant()
    def database_agrees_with_the_model(self):
        balances = dict(Wallet.objects.filter(user__in=self.users).values_list("user_id", "balance"))
        assert [balances[user.id] for user in self.users] == self.model.balances
        stock = dict(Product.objects.filter(id__in=self.model.available).values_list("id", "available_units"))
        assert stock == self.model.available
        statuses = dict(Order.objects.filter(buyer__in=self.users).values_list("id", "status"))
        assert {str(order_id): status for order_id, status in statuses.items()} == self.model.orders

    @invariant()
    def ledger_invariants_hold(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT journal_id FROM wallets_ledgerentry GROUP BY journal_id HAVING SUM(amount) <> 0 LIMIT 5"
            )
            assert cursor.fetchall() == [], "journals that do not sum to zero"
            cursor.execute(
                "SELECT w.id FROM wallets_wallet w LEFT JOIN wallets_ledgerentry e ON e.wallet_id = w.id "
                "WHERE w.kind = %s GROUP BY w.id HAVING w.balance <> COALESCE(SUM(e.amount), 0) OR w.balance < 0",
                [WalletKind.USER],
            )
            assert cursor.fetchall() == [], "user wallets whose balance is not the sum of their entries"

    @invariant()
    def stock_invariants_hold(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.id FROM catalog_product p LEFT JOIN orders_order o "
                "ON o.product_id = p.id AND o.status IN ('PENDING', 'COMPLETED') GROUP BY p.id "
                "HAVING p.available_units < 0 OR p.units_supplied - p.available_units <> COALESCE(SUM(o.quantity), 0)"
            )
            assert cursor.fetchall() == [], "products whose stock disagrees with their live orders"


def _parse(raw: str) -> Decimal | None:
    """Return the amount the API must accept, or None where it must answer 400 validation_error."""
    try:
        value = D(raw)
    except ArithmeticError:
        return None
    if not value.is_finite() or value <= 0 or value != quantize(value):
        return None
    return value


def test_ledger_state_machine(stripe_settings):
    stripe_settings.PLATFORM_FEE_PERCENT = FEE_PERCENT
    run_state_machine_as_test(
        LedgerMachine,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
