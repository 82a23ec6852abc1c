"""Faults: Redis dies and comes back, the database connection dies inside a purchase,
a worker is killed mid-request, Stripe is unreachable or never answers.

Each test breaks something real (a redis-server of its own, a PostgreSQL
backend, a gunicorn worker, a socket), never a mock, and then checks the
contract: no 5xx where the API promises an answer, a clean problem+json where
it cannot, and books that `manage.py reconcile` finds clean.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from copy import deepcopy
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from accounts.tests.factories import DEFAULT_PASSWORD, MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core import gateway
from core.models import IdempotencyKey
from orders import locks
from orders.models import Order, OrderStatus
from orders.services import purchase
from paymentflow.tests.servers import database_environment, free_port, gunicorn
from wallets.models import Journal, LedgerEntry, Wallet
from wallets.tests.factories import fund_wallet

API = "/api/v1"
D = Decimal


class JsonClient(APIClient):
    """An APIClient whose post/patch send JSON, as every API client does."""

    def post_json(self, path, data=None, **extra):
        return self.post(path, data, format="json", **extra)

    def patch_json(self, path, data=None, **extra):
        return self.patch(path, data, format="json", **extra)


def client_for(user=None) -> JsonClient:
    client = JsonClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=user).access}")
    return client


def assert_reconcile_clean() -> None:
    """Run the operators' reconciliation; it raises CommandError on any discrepancy."""
    out = StringIO()
    call_command("reconcile", "--json", stdout=out, stderr=StringIO())
    document = json.loads(out.getvalue())
    assert document["clean"], [check for check in document["checks"] if not check["ok"]]


def books() -> tuple:
    """Everything a purchase writes: balances, stock, orders, journals and entries."""
    return (
        tuple(Wallet.objects.order_by("id").values_list("id", "balance", "entry_count")),
        tuple(Product.objects.order_by("id").values_list("id", "available_units")),
        Order.objects.count(),
        Journal.objects.count(),
        LedgerEntry.objects.count(),
    )


# --- Redis stops and comes back ---------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on its own port (never the shared one), nothing persisted."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command on loopback)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def own_redis(settings):
    server = RedisServer()
    server.start()
    caches = deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{server.port}/0"
    settings.CACHES = caches
    yield server
    if server.process.poll() is None:
        server.kill()


class Shop:
    """A buyer, a merchant with a product, and a tour of every endpoint with the answer each must give."""

    def __init__(self):
        self.buyer, self.merchant = UserFactory(), MerchantFactory()
        fund_wallet(self.buyer, "500.00")
        fund_wallet(self.merchant, "500.00")
        self.product = ProductFactory(merchant=self.merchant, price=D("10.00"), available_units=50)
        self.anonymous, self.as_buyer, self.as_merchant = (
            client_for(),
            client_for(self.buyer),
            client_for(self.merchant),
        )
        self.round = 0

    def tour(self) -> dict[str, int]:
        """Call every operation of the API once; return {operation: status}."""
        self.round += 1
        n, anonymous, buyer, merchant = self.round, self.anonymous, self.as_buyer, self.as_merchant
        product = f"{API}/products/{self.product.id}"
        statuses = {
            "GET /health": anonymous.get(f"{API}/health").status_code,
            "POST /auth/register": anonymous.post_json(
                f"{API}/auth/register", {"email": f"new{n}@example.com", "password": "violet-anchor-meadow-42"}
            ).status_code,
        }
        login = anonymous.post_json(f"{API}/auth/login", {"email": self.buyer.email, "password": DEFAULT_PASSWORD})
        statuses["POST /auth/login"] = login.status_code
        refresh = anonymous.post_json(f"{API}/auth/refresh", {"refreshToken": login.json()["refreshToken"]})
        statuses["POST /auth/refresh"] = refresh.status_code
        statuses["POST /auth/logout"] = anonymous.post_json(
            f"{API}/auth/logout", {"refreshToken": refresh.json()["refreshToken"]}
        ).status_code
        statuses["GET /auth/me"] = buyer.get(f"{API}/auth/me").status_code
        statuses["GET /wallet"] = buyer.get(f"{API}/wallet").status_code
        statuses["POST /wallet/deposit"] = buyer.post_json(
            f"{API}/wallet/deposit", {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY=f"deposit-{n}"
        ).status_code
        statuses["POST /wallet/withdraw"] = buyer.post_json(f"{API}/wallet/withdraw", {"amount": "5.00"}).status_code
        statuses["GET /wallet/transactions"] = buyer.get(f"{API}/wallet/transactions").status_code
        statuses["GET /products"] = anonymous.get(f"{API}/products").status_code
        statuses["GET /products/{id}"] = anonymous.get(product).status_code
        created = merchant.post_json(f"{API}/products", {"name": f"Extra {n}", "price": "3.00", "availableUnits": 3})
        statuses["POST /products"] = created.status_code
        extra = f"{API}/products/{created.json()['id']}"
        statuses["PATCH /products/{id}"] = merchant.patch_json(extra, {"name": f"Extra {n} v2"}).status_code
        statuses["DELETE /products/{id}"] = merchant.delete(extra).status_code
        statuses["GET /products/merchant/my-products"] = merchant.get(
            f"{API}/products/merchant/my-products"
        ).status_code
        order = buyer.post_json(
            f"{API}/orders",
            {"productId": str(self.product.id), "paymentMethod": "WALLET", "quantity": 2},
            HTTP_IDEMPOTENCY_KEY=f"order-{n}",
        )
        statuses["POST /orders"] = order.status_code
        statuses["GET /orders"] = buyer.get(f"{API}/orders").status_code
        statuses["GET /orders/{id}"] = buyer.get(f"{API}/orders/{order.json()['id']}").status_code
        statuses["GET /orders/merchant/sales"] = merchant.get(f"{API}/orders/merchant/sales").status_code
        statuses["POST /orders/{id}/refund"] = merchant.post_json(
            f"{API}/orders/{order.json()['id']}/refund"
        ).status_code
        statuses["POST /payments/stripe/webhook"] = anonymous.post_json(
            f"{API}/payments/stripe/webhook", {"id": "evt_x"}, HTTP_STRIPE_SIGNATURE="t=1,v1=forged"
        ).status_code
        return statuses

    def detail(self) -> dict:
        return self.anonymous.get(f"{API}/products/{self.product.id}").json()


EVERY_OPERATION_ANSWERS = {
    "GET /health": 200,
    "POST /auth/register": 201,
    "POST /auth/login": 200,
    "POST /auth/refresh": 200,
    "POST /auth/logout": 204,
    "GET /auth/me": 200,
    "GET /wallet": 200,
    "POST /wallet/deposit": 201,
    "POST /wallet/withdraw": 201,
    "GET /wallet/transactions": 200,
    "GET /products": 200,
    "GET /products/{id}": 200,
    "POST /products": 201,
    "PATCH /products/{id}": 200,
    "DELETE /products/{id}": 204,
    "GET /products/merchant/my-products": 200,
    "POST /orders": 201,
    "GET /orders": 200,
    "GET /orders/{id}": 200,
    "GET /orders/merchant/sales": 200,
    "POST /orders/{id}/refund": 200,
    # Not signed by Stripe: refused, never a 5xx.
    "POST /payments/stripe/webhook": 400,
}


@pytest.mark.django_db(transaction=True)
def test_redis_dies_mid_run_and_the_cache_comes_back(own_redis, stripe_settings, django_assert_num_queries):
    shop = Shop()

    # Redis up: every operation answers, and public reads are served from the cache.
    assert shop.tour() == EVERY_OPERATION_ANSWERS
    shop.detail()
    with django_assert_num_queries(0):
        shop.detail()

    own_redis.kill()

    started = time.monotonic()
    assert shop.tour() == EVERY_OPERATION_ANSWERS
    # No stalls: a refused connection is an immediate miss (bcrypt logins are most of this time).
    assert time.monotonic() - started < 10
    assert shop.anonymous.get(f"{API}/health").json() == {
        "status": "degraded",
        "database": "ok",
        "cache": "unavailable",
    }
    # Reads come from the database, so they are right: two tours sold 4 units and refunded them.
    with django_assert_num_queries(1):
        assert shop.detail()["availableUnits"] == 50
    # A write while Redis is down (its invalidation is dropped) is on the next read.
    shop.as_merchant.patch_json(f"{API}/products/{shop.product.id}", {"availableUnits": 49})
    assert shop.detail()["availableUnits"] == 49

    own_redis.start()

    assert shop.tour() == EVERY_OPERATION_ANSWERS
    assert shop.anonymous.get(f"{API}/health").json() == {"status": "ok", "database": "ok", "cache": "ok"}
    shop.detail()
    with django_assert_num_queries(0):
        assert shop.detail()["availableUnits"] == 49
    # ... and invalidation works again: a change is visible on the next read.
    shop.as_merchant.patch_json(f"{API}/products/{shop.product.id}", {"name": "Renamed"})
    assert shop.detail()["name"] == "Renamed"
    assert_reconcile_clean()


# --- the database connection dies inside a purchase ---------------------------------------------


class PauseAfter:
    """Wrap a step of the purchase: once it has run, report the backend pid and wait to be released."""

    def __init__(self, step):
        self.step = step
        self.paused = threading.Event()
        self.release = threading.Event()
        self.backend_pid: int | None = None

    def __call__(self, *args, **kwargs):
        result = self.step(*args, **kwargs)
        if not self.paused.is_set():
            # The live server's thread, inside the purchase's transaction.
            self.backend_pid = connection.connection.info.backend_pid
            self.paused.set()
            assert self.release.wait(timeout=30)
        return result


@pytest.mark.parametrize(
    ("in_one_statement", "module", "step"),
    [
        # The ORM path (SQLite's, here on PostgreSQL). Units taken, the product row locked, nothing else written yet.
        (False, locks, "product_take_units"),
        # Everything written (order, journal, history), only COMMIT left.
        (False, purchase, "order_record_created"),
        # PostgreSQL's function: everything written in one statement, then the event; only COMMIT left.
        (True, purchase, "_wallet_purchase_statement"),
    ],
    ids=["units-taken", "before-commit", "function-before-commit"],
)
def test_database_connection_killed_inside_a_purchase_writes_nothing(
    live_server, monkeypatch, in_one_statement, module, step
):
    monkeypatch.setattr(purchase, "_in_one_statement", lambda: in_one_statement)
    buyer, merchant = UserFactory(), MerchantFactory()
    fund_wallet(buyer, "100.00")
    product = ProductFactory(merchant=merchant, price=D("10.00"), available_units=5)
    pause = PauseAfter(getattr(module, step))
    monkeypatch.setattr(module, step, pause)
    before = books()
    url = f"{live_server.url}{API}/orders"
    headers = {"Authorization": f"Bearer {token_pair_for(user=buyer).access}", "Idempotency-Key": "killed-once"}
    body = {"productId": str(product.id), "paymentMethod": "WALLET", "quantity": 2}
    answers = []
    request = threading.Thread(
        target=lambda: answers.append(requests.post(url, json=body, headers=headers, timeout=30))
    )
    request.start()

    assert pause.paused.wait(timeout=15)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pause.backend_pid])
    pause.release.set()
    request.join(timeout=30)

    [response] = answers
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server_error"
    assert "terminat" not in response.text.lower()  # nothing of the database error leaks
    assert books() == before
    # The key was released with the failure, so the client's retry is the purchase, once.
    retry = requests.post(url, json=body, headers=headers, timeout=30)
    assert retry.status_code == 201, retry.text
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert Wallet.objects.get(user=buyer).balance == D("80.00")
    assert Product.objects.get(id=product.id).available_units == 3
    assert_reconcile_clean()


# --- a worker killed mid-request with an Idempotency-Key ---------------------------------------

LOCK_TIMEOUT_SECONDS = 4


@pytest.fixture
def gunicorn_pausing(transactional_db, tmp_path):
    """Serve the test database from gunicorn (2 workers) through `pausing_wsgi`; yield its base URL."""
    env = {
        **database_environment(),
        "WEB_CONCURRENCY": "2",
        "WEB_TIMEOUT": "120",
        "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT_SECONDS),
        "PAUSE_FILE": str(tmp_path / "paused"),
    }
    app = "paymentflow.tests.security.pausing_wsgi:application"
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log", app=app) as server:
        yield server.url, tmp_path / "paused"


def test_worker_killed_mid_request_the_retry_completes_exactly_once(gunicorn_pausing):
    base_url, pause_file = gunicorn_pausing
    user = UserFactory()
    url = f"{base_url}{API}/wallet/deposit"
    headers = {"Authorization": f"Bearer {token_pair_for(user=user).access}", "Idempotency-Key": "deposit-7"}
    body = {"amount": "25.00"}
    outcome = []

    def send():
        try:
            outcome.append(requests.post(url, json=body, headers=headers, timeout=60))
        except requests.ConnectionError as exc:
            outcome.append(exc)

    request = threading.Thread(target=send)
    request.start()
    deadline = time.monotonic() + 20
    while not pause_file.exists() or not pause_file.read_text():
        assert time.monotonic() < deadline, "the request never reached the money movement"
        time.sleep(0.05)
    claimed_at = time.monotonic()

    # The worker dies with the deposit written but not committed.
    os.kill(int(pause_file.read_text()), signal.SIGKILL)
    request.join(timeout=30)

    assert isinstance(outcome[0], requests.ConnectionError)  # the client got no answer
    assert not LedgerEntry.objects.filter(wallet__user=user).exists()
    # Retried at once, the claim of the dead worker still holds the key.
    early = requests.post(url, json=body, headers=headers, timeout=30)
    assert time.monotonic() - claimed_at < LOCK_TIMEOUT_SECONDS
    assert (early.status_code, early.json()["code"]) == (409, "idempotency_key_in_use")

    time.sleep(max(0.0, LOCK_TIMEOUT_SECONDS + 0.5 - (time.monotonic() - claimed_at)))
    retry = requests.post(url, json=body, headers=headers, timeout=30)
    replay = requests.post(url, json=body, headers=headers, timeout=30)

    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == retry.json()
    assert LedgerEntry.objects.filter(wallet__user=user).count() == 1
    assert Wallet.objects.get(user=user).balance == D("25.00")
    assert IdempotencyKey.objects.get(user=user, key="deposit-7").response_status == 201
    assert_reconcile_clean()


# --- Stripe unreachable or silent ---------------------------------------------------------------


@pytest.fixture
def silent_gateway():
    """A socket that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["unreachable", "silent"])
def test_card_orders_fail_cleanly_while_wallet_orders_go_on(stripe_settings, monkeypatch, silent_gateway, failure):
    # Bounded like production (gateway.py), only shorter: 2 attempts of 2 s each.
    monkeypatch.setattr(gateway, "CONNECT_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(gateway, "READ_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(gateway, "MAX_NETWORK_RETRIES", 1)
    stripe_settings.STRIPE_API_BASE = silent_gateway if failure == "silent" else f"http://127.0.0.1:{free_port()}"
    card_buyer, wallet_buyer, merchant = UserFactory(), UserFactory(), MerchantFactory()
    fund_wallet(wallet_buyer, "100.00")
    product = ProductFactory(merchant=merchant, price=D("10.00"), available_units=5)
    card_answers = []

    def pay_by_card():
        try:
            card_answers.append(
                client_for(card_buyer).post_json(
                    f"{API}/orders", {"productId": str(product.id), "paymentMethod": "GATEWAY", "quantity": 2}
                )
            )
        finally:
            connection.close()

    started = time.monotonic()
    card = threading.Thread(target=pay_by_card)
    card.start()
    if failure == "silent":
        # The card order has reserved its units and is waiting on Stripe...
        deadline = time.monotonic() + 10
        while not Order.objects.filter(buyer=card_buyer, status=OrderStatus.PENDING).exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    # ... and a wallet purchase of the same product does not wait for it: the product row is
    # not locked during the Stripe call.
    wallet_started = time.monotonic()
    wallet_order = client_for(wallet_buyer).post_json(
        f"{API}/orders", {"productId": str(product.id), "paymentMethod": "WALLET", "quantity": 1}
    )
    assert wallet_order.status_code == 201, wallet_order.content
    assert time.monotonic() - wallet_started < 2.0
    if failure == "silent":
        assert card.is_alive()
    card.join(timeout=30)

    [card_order] = card_answers
    assert time.monotonic() - started < 12
    assert card_order.status_code == 502
    assert card_order["Content-Type"] == "application/problem+json"
    assert card_order.json()["code"] == "gateway_error"
    failed = Order.objects.get(buyer=card_buyer)
    assert failed.status == OrderStatus.FAILED
    # The card order's 2 units are back; only the wallet order's unit is gone.
    assert Product.objects.get(id=product.id).available_units == 4
    assert Wallet.objects.get(user=wallet_buyer).balance == D("90.00")
    assert_reconcile_clean()
