"""`make run` serves from embedded SQLite: the money paths must work there too, not only on PostgreSQL."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
    wallet = client.get(api + "/wallet", HTTP_AUTHORIZATION=f"Bearer {b}").json()
    assert wallet["balance"] == "99.20", wallet
    call_command("reconcile", verbosity=0)
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
