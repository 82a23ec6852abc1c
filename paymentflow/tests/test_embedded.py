"""`make run` serves from embedded SQLite: the money paths must work there too, not only on PostgreSQL."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from paymentflow.tests.celery_worker import wait_for
from paymentflow.tests.servers import API, free_port, gunicorn

BASE_DIR = Path(__file__).resolve().parents[2]

SCENARIO = textwrap.dedent(
    """
    from django.core.management import call_command
    from django.test import Client

    api = "/api/v1"
    client = Client(HTTP_HOST="127.0.0.1")

    def post(path, body, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = client.post(api + path, body, content_type="application/json", **headers)
        assert response.status_code < 300, (path, response.status_code, response.content)
        return response.json()

    merchant = post(
        "/auth/register", {"email": "shop@example.com", "password": "merchant-pass-123", "role": "MERCHANT"}
    )
    buyer = post("/auth/register", {"email": "buyer@example.com", "password": "buyer-pass-1234"})
    m, b = merchant["accessToken"], buyer["accessToken"]
    # 0.10 + 0.20 is the classic float trap: the ledger's CHECKs must hold on SQLite too.
    post("/wallet/deposit", {"amount": "0.10"}, b)
    post("/wallet/deposit", {"amount": 0.20}, b)
    post("/wallet/deposit", {"amount": "100.00"}, b)
    post("/wallet/withdraw", {"amount": "1.10"}, b)
    product = post("/products", {"name": "Guide", "price": "19.99", "availableUnits": 5}, m)
    order = post("/orders", {"productId": product["id"], "paymentMethod": "WALLET", "quantity": 3}, b)
    assert order["totalAmount"] == "59.97", order
    post(f"/orders/{order['id']}/refund", {}, m)
    for _ in range(3):
        post("/orders", {"productId": product["id"], "paymentMethod": "WALLET", "quantity": 1}, b)
    wallet = client.get(api + "/wallet", HTTP_AUTHORIZATION=f"Bearer {b}").json()
    assert wallet["balance"] == "39.23", wallet
    call_command("reconcile", verbosity=0)

    # The dashboards' money is Decimal to the cent, though SQLite sums decimals as floats.
    from accounts.models import User
    from backoffice.selectors import merchant_summary, operator_dashboard

    summary = merchant_summary(merchant=User.objects.get(email="shop@example.com"))
    dashboard = operator_dashboard()
    for amount in (summary.revenue, summary.net_revenue, summary.balance, dashboard.sales_today_volume):
        assert str(amount) == f"{amount:.2f}", amount
    print("embedded scenario ok")
    """
)


def test_wallet_purchase_and_refund_work_on_embedded_sqlite(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("DJANGO_")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # As `make run` has it: DEBUG off, plain http on localhost.
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="embedded-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DJANGO_SECURE_SSL_REDIRECT="false",
        PLATFORM_FEE_PERCENT="2.5",
        DJANGO_SETTINGS_MODULE="paymentflow.settings",
    )
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=BASE_DIR)  # noqa: S603

    result = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", SCENARIO], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "embedded scenario ok" in result.stdout


# --- several workers on one machine: what `make run` serves ----------------------------------


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """gunicorn (2 workers) on a fresh embedded SQLite database, no Redis: `make run`'s setup."""
    tmp = tmp_path_factory.mktemp("embedded")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": "embedded-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DELIVERY_ENCRYPTION_KEYS": os.environ["DELIVERY_ENCRYPTION_KEYS"],
        "AUTH_THROTTLE_RATE": "10/min",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "BACKGROUND_DIR": str(tmp / "var"),
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run(  # noqa: S603
        [*manage, "migrate", "--no-input", "-v", "0"],
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "paymentflow.settings", **env},
        check=True,
        cwd=BASE_DIR,
    )
    with gunicorn(env=env, log_path=tmp / "gunicorn.log") as server:
        yield server


# Registrations made from this test's address: they draw on the login limit's budget too.
_registered: list[str] = []


def _register(server, email: str, **fields) -> str:
    body = {"email": email, "password": "embedded-pass-1234", **fields}
    response = requests.post(f"{server.url}{API}/auth/register", json=body, timeout=10)
    _registered.append(email)
    assert response.status_code == 201, response.text
    return response.json()["accessToken"]


def test_with_several_workers_every_next_read_shows_a_product_change(embedded_server):
    token = _register(embedded_server, "seller@example.com", role="MERCHANT")
    headers = {"Authorization": f"Bearer {token}"}
    product = requests.post(
        f"{embedded_server.url}{API}/products",
        json={"name": "Guide", "price": "10.00", "availableUnits": 5},
        headers=headers,
        timeout=10,
    ).json()
    detail = f"{embedded_server.url}{API}/products/{product['id']}"
    # Every worker has the product cached (a new connection each time: spread over both).
    assert {requests.get(detail, timeout=10).json()["price"] for _ in range(20)} == {"10.00"}

    assert requests.patch(detail, json={"price": "12.00"}, headers=headers, timeout=10).status_code == 200

    assert [requests.get(detail, timeout=10).json()["price"] for _ in range(20)] == ["12.00"] * 20


def test_with_several_workers_the_login_limit_holds_under_concurrency(embedded_server):
    _register(embedded_server, "victim@example.com")
    barrier = threading.Barrier(60)
    statuses: list[int] = []

    def wrong_login():
        barrier.wait(timeout=30)
        response = requests.post(
            f"{embedded_server.url}{API}/auth/login",
            json={"email": "victim@example.com", "password": "not-the-password"},
            headers={"X-Forwarded-For": "198.51.100.1"},  # not trusted: every attempt is this test's address
            timeout=60,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=wrong_login) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert len(statuses) == 60
    assert set(statuses) <= {401, 429}
    # 10 per minute from this address, the registrations of this module included: no more got through.
    assert statuses.count(401) == 10 - len(_registered)


def test_one_access_line_per_request(embedded_server):
    requests.get(f"{embedded_server.url}{API}/health", headers={"X-Request-ID": "one-line-please"}, timeout=10)
    time.sleep(0.5)

    lines = [line for line in embedded_server.log().splitlines() if "one-line-please" in line]
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["logger"] == "paymentflow.request"


# --- `make run`'s processes: web, worker and beat from the Procfile, without Redis ------------


def test_make_runs_procfile_runs_background_work_without_redis(tmp_path):
    """honcho starts the Procfile as `make run` does; the worker publishes a sale's event over the filesystem queue."""
    database = tmp_path / "db.sqlite3"
    port = free_port()
    env = {
        # The venv on PATH, as `make run` puts it: the Procfile's lines name bare commands.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SECRET_KEY": "embedded-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DELIVERY_ENCRYPTION_KEYS": os.environ["DELIVERY_ENCRYPTION_KEYS"],
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SETTINGS_MODULE": "paymentflow.settings",
        # This test's own queue folder and beat schedule, not the checkout's var/.
        "BACKGROUND_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    subprocess.run(  # noqa: S603
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        cwd=BASE_DIR,
    )
    log_path = tmp_path / "honcho.log"
    with open(log_path, "wb") as log:
        honcho = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}{API}"
            wait_for(lambda: _answers(f"{url}/health"), timeout=60, message=f"web up\n{log_path.read_text()}")
            seller = _token(url, "seller@example.com", role="MERCHANT")
            buyer = _token(url, "buyer@example.com")
            product = _post(url, "/products", {"name": "Guide", "price": "5.00", "availableUnits": 2}, seller)
            _post(url, "/wallet/deposit", {"amount": "10.00"}, buyer)
            order = _post(url, "/orders", {"productId": product["id"], "paymentMethod": "WALLET"}, buyer)

            def published():
                with sqlite3.connect(database) as db:
                    return db.execute(
                        "SELECT published_at FROM core_outboxevent WHERE type = 'order.completed'"
                    ).fetchone()[0]

            wait_for(published, timeout=60, message=f"the worker published it\n{log_path.read_text()}")
            assert order["status"] == "COMPLETED"
            text = log_path.read_text()
            assert "beat.1" in text and "worker.1" in text and "web.1" in text
        finally:
            os.killpg(honcho.pid, signal.SIGTERM)
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _token(url: str, email: str, **fields) -> str:
    body = {"email": email, "password": "embedded-pass-1234", **fields}
    return _post(url, "/auth/register", body)["accessToken"]


def _post(url: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(f"{url}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code < 300, response.text
    return response.json()
