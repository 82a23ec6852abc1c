"""pytest fixtures that run localstripe, a Stripe-compatible server, for the Stripe tests.

Loaded from the root conftest.py (`pytest_plugins`). One localstripe process
serves the whole session on a loopback port; each test that asks for
`stripe_settings` starts from an empty localstripe and points the gateway at it.

What localstripe (1.15.10) does, as far as these tests depend on it:

- PaymentIntents are confirmed with a payment method set beforehand
  (`confirm` with a `payment_method` argument answers 500): use
  `confirm_payment_intent()`. `CARD_SUCCEEDS` (4242…) → `succeeded`;
  `CARD_DECLINED` (4000000000000341) → 402 card_declined, the intent back in
  `requires_payment_method`. 4000000000000002 is only declined when attached to
  a customer: it pays a PaymentIntent.
- Webhooks (`payment_intent.succeeded`, `payment_intent.payment_failed`) are
  sent about 1 s after the change, once, without retries, to every registered
  endpoint, signed `t=<event.created>,v1=<HMAC-SHA256>` like Stripe.
- `Idempotency-Key` is ignored: the same key twice creates two objects.
- PaymentIntents have no `amount_received`, which Stripe always sends and the
  webhook checks; the launcher below adds it as Stripe computes it (the amount
  once succeeded, else 0).
- Flushing the data does not unregister webhooks nor cancel deliveries already
  scheduled, so a webhook of the previous test can still arrive: match events
  by PaymentIntent id.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe

STRIPE_TEST_SECRET_KEY = "sk_test_localstripe"
STRIPE_TEST_WEBHOOK_SECRET = "whsec_test_localstripe"

# localstripe's canonical test payment methods (resources.PaymentMethod).
CARD_SUCCEEDS = "pm_card_visa"
CARD_DECLINED = "pm_card_chargeCustomerFail"

# Runs localstripe's own aiohttp app on the socket the fixture already bound (no
# port race, loopback only, where `localstripe --port` listens on every
# interface), without its pickle in /tmp (shared by every localstripe on the
# machine), and exits when pytest dies without tearing it down.
_LAUNCHER = """
import asyncio, logging, os, socket, sys
from aiohttp import web
from localstripe import resources, server

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
resources.Store.dump_to_disk = lambda self: None
_export_intent = resources.PaymentIntent._export

def _export_with_amount_received(self, expand=None):
    data = _export_intent(self, expand=expand)
    data.setdefault("amount_received", self.amount if self.status == "succeeded" else 0)
    return data

resources.PaymentIntent._export = _export_with_amount_received
parent = os.getppid()
watchers = []

async def exit_with_parent(app):
    async def watch():
        while os.getppid() == parent:
            await asyncio.sleep(1)
        os._exit(0)
    watchers.append(asyncio.ensure_future(watch()))

server.app.on_startup.append(exit_with_parent)
web.run_app(server.app, sock=socket.socket(fileno=int(sys.argv[1])), print=None)
"""

_START_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class LocalStripe:
    """A running localstripe: its base URL, its process and its log (requests, webhook deliveries)."""

    url: str
    log_path: Path
    pid: int

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop the process (SIGSTOP) for the block: Stripe stalls, accepting connections and answering none.

        On SIGCONT it serves what was sent meanwhile, requests whose clients gave
        up included, as Stripe can act on a call that timed out at our end.
        """
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def flush(self) -> None:
        """Delete every object localstripe holds (webhook registrations stay)."""
        self._config("DELETE", "/_config/data")

    def register_webhook(self, *, endpoint_id: str, url: str, secret: str, events: list[str] | None = None) -> None:
        """Register (or replace) a webhook endpoint; `events=None` means every event type."""
        body: dict = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = events
        self._config("POST", f"/_config/webhooks/{endpoint_id}", body)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _config(self, method: str, path: str, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            response.read()


@contextmanager
def localstripe_running(log_path: Path) -> Iterator[LocalStripe]:
    """Run localstripe on a free loopback port for the block, its output in `log_path` (also used by bench/run.py)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our interpreter, our script)
            [sys.executable, "-c", _LAUNCHER, str(listener.fileno())],
            pass_fds=[listener.fileno()],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    listener.close()
    server = LocalStripe(url=f"http://127.0.0.1:{port}", log_path=log_path, pid=process.pid)
    try:
        _wait_until_answering(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """Run localstripe on a free loopback port for the whole session."""
    with localstripe_running(tmp_path_factory.mktemp("localstripe") / "localstripe.log") as server:
        yield server


def _wait_until_answering(server: LocalStripe, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.flush()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                message = f"localstripe did not answer in {_START_TIMEOUT_SECONDS} s:\n{server.log_tail()}"
                raise RuntimeError(message) from exc
            time.sleep(0.1)


@pytest.fixture
def stripe_settings(settings, localstripe_server: LocalStripe):
    """Point the gateway at an emptied localstripe; returns pytest-django's `settings`."""
    localstripe_server.flush()
    settings.STRIPE_API_BASE = localstripe_server.url
    settings.STRIPE_SECRET_KEY = STRIPE_TEST_SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_TEST_WEBHOOK_SECRET
    return settings


@pytest.fixture
def stripe_worker_env(stripe_settings) -> dict[str, str]:
    """The environment that points a test Celery worker at the same localstripe (`celery_worker_env`)."""
    return {
        "STRIPE_API_BASE": stripe_settings.STRIPE_API_BASE,
        "STRIPE_SECRET_KEY": stripe_settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.STRIPE_WEBHOOK_SECRET,
    }


@pytest.fixture
def stripe_webhook_to(stripe_settings, localstripe_server: LocalStripe) -> Iterator[Callable[..., None]]:
    """Return `register(url, events=None)`: localstripe signs and POSTs its events to `url`.

    The endpoint is signed with `STRIPE_WEBHOOK_SECRET` and switched off after
    the test (localstripe cannot delete one: it is narrowed to no event type).
    """
    registered: list[tuple[str, str]] = []

    def register(url: str, *, events: list[str] | None = None) -> None:
        endpoint_id = f"pytest-{uuid.uuid4().hex}"
        localstripe_server.register_webhook(
            endpoint_id=endpoint_id, url=url, secret=stripe_settings.STRIPE_WEBHOOK_SECRET, events=events
        )
        registered.append((endpoint_id, url))

    yield register

    for endpoint_id, url in registered:
        localstripe_server.register_webhook(
            endpoint_id=endpoint_id, url=url, secret=STRIPE_TEST_WEBHOOK_SECRET, events=["pytest.unregistered"]
        )


def stripe_test_client() -> stripe.StripeClient:
    """Return a Stripe client for what the buyer's browser does (confirming), from the current settings."""
    from django.conf import settings

    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE})


def confirm_payment_intent(*, payment_intent_id: str, payment_method: str = CARD_SUCCEEDS) -> str:
    """Pay a PaymentIntent with a test card, as Stripe.js would; return its status afterwards.

    A declined card is not an error here: the status (`requires_payment_method`)
    and the `payment_intent.payment_failed` webhook say what happened.
    """
    client = stripe_test_client()
    client.v1.payment_intents.update(payment_intent_id, {"payment_method": payment_method})
    try:
        return client.v1.payment_intents.confirm(payment_intent_id).status
    except stripe.CardError:
        return client.v1.payment_intents.retrieve(payment_intent_id).status


def wait_until(condition: Callable[[], object], *, timeout: float = 10.0, interval: float = 0.05) -> None:
    """Poll `condition` until it is truthy; fail the test after `timeout` seconds (webhooks are async)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
