"""Metrics on a real multi-worker gunicorn: one scrape sums every worker's counts, dead workers' included."""

import json
import os
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import token_pair_for
from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus
from orders.tasks import orders_expire_due_task
from orders.tests.helpers import funded_buyer
from orders.tests.test_card import card_order
from paymentflow.tests.celery_worker import wait_for
from paymentflow.tests.servers import API, database_environment, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-me"
REQUESTS = 60


def call(url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
    """Send one request on its own connection; return its status and body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, response.read()


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    text = call(f"{url}{API}/metrics", token=TOKEN)[1].decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def product_list_count(samples) -> float:
    labels = frozenset({"view": "product-list", "method": "GET", "status": "200"}.items())
    return samples.get(("paymentflow_http_requests_total", labels), 0.0)


def worker_pids(metrics_dir: Path) -> set[int]:
    # A process's files are named `counter_<host>-<pid>.db` (core/metrics.py).
    return {int(path.stem.rsplit("-", 1)[1]) for path in metrics_dir.glob("counter_*.db")}


def hammer(url: str, count: int) -> None:
    # Concurrent, each on its own connection, so the workers share them.
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda _: call(f"{url}{API}/products"), range(count)))


def test_one_scrape_sums_all_workers_past_and_present(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    user = UserFactory()
    access = token_pair_for(user=user).access
    env = {
        **database_environment(),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WEB_CONCURRENCY": "3",
        "WEB_THREADS": "2",
    }
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as served:
        hammer(served.url, REQUESTS)
        sent = REQUESTS
        for _ in range(5):
            status, _ = call(f"{served.url}{API}/wallet/deposit", token=access, body={"amount": "2.00"})
            assert status == 201
        first = worker_pids(metrics_dir)

        # A worker that goes away (max_requests, a crash) keeps its counts in the scrape.
        os.kill(next(iter(first)), signal.SIGTERM)
        deadline = time.monotonic() + 20
        while not worker_pids(metrics_dir) - first:
            assert time.monotonic() < deadline, served.log()
            hammer(served.url, 6)
            sent += 6
        hammer(served.url, REQUESTS)
        sent += REQUESTS
        samples = scrape(served.url)
        answered = product_list_count(samples)

    # Every request we sent, counted once, whichever worker answered it.
    assert len(worker_pids(metrics_dir)) >= 2
    assert answered == sent
    assert samples[("paymentflow_ledger_journals_total", frozenset({("kind", "DEPOSIT")}))] == 5


def test_the_default_directory_is_the_server_s_own_and_goes_with_it(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # No PROMETHEUS_MULTIPROC_DIR: gunicorn.conf.py makes a temporary one (under TMPDIR).
    env = {**database_environment(), "METRICS_TOKEN": TOKEN, "WEB_CONCURRENCY": "2", "TMPDIR": str(scratch)}
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as served:
        hammer(served.url, 20)
        answered = product_list_count(scrape(served.url))
        assert [path.name.startswith("paymentflow-metrics-") for path in scratch.iterdir()] == [True]

    assert answered == 20
    assert list(scratch.iterdir()) == []


@pytest.fixture
def celery_worker_env(stripe_worker_env, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    return {**stripe_worker_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def test_what_a_background_worker_does_is_in_the_web_server_s_scrape(
    tmp_path, stripe_settings, auth_client, celery_worker_env, celery_worker
):
    # A card order expired by the Celery worker (as beat has it every minute), not by the web server.
    product = ProductFactory(price=Decimal("5.00"), available_units=3)
    order_id = card_order(auth_client(funded_buyer("0")), product, quantity=1).json()["id"]
    Order.objects.filter(id=order_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    orders_expire_due_task.delay()
    wait_for(lambda: Order.objects.get(id=order_id).status == OrderStatus.EXPIRED, message="the order expired")

    env = {
        **database_environment(),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": celery_worker_env["PROMETHEUS_MULTIPROC_DIR"],
    }
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log") as served:
        samples = scrape(served.url)

    expired = frozenset({("status", "EXPIRED"), ("payment_method", "GATEWAY")})
    assert samples[("paymentflow_orders_total", expired)] == 1
