"""A real cross-origin `fetch` from headless Chromium: a page on one port calling the API on another."""

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.services import token_pair_for
from backoffice.tests.test_browser import browser  # noqa: F401 (the module's Chromium, a fixture)
from wallets.tests.factories import wallet_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in the page: a deposit with the headers a browser app sends (so a preflight
# first), then the same request again; answers what the page's script can read.
DEPOSIT_TWICE = """async ({url, token}) => {
    const send = () => fetch(url, {
        method: "POST",
        headers: {"Authorization": `Bearer ${token}`, "Content-Type": "application/json",
                  "Idempotency-Key": "browser-1"},
        body: JSON.stringify({amount: "12.50"}),
    });
    try {
        const first = await send();
        const again = await send();
        return {
            status: first.status,
            body: await first.json(),
            requestId: first.headers.get("X-Request-ID"),
            replayed: again.headers.get("Idempotent-Replayed"),
            // Not exposed: the script cannot read it even though the server sent it.
            frameOptions: first.headers.get("X-Frame-Options"),
        };
    } catch (error) {
        return {error: String(error)};
    }
}"""


@contextmanager
def page_server(directory) -> Iterator[str]:
    """Serve `directory` over http on a free loopback port; yield the page's origin."""
    (directory / "index.html").write_text("<!doctype html><title>A browser app</title><p>app</p>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def app_page(browser, tmp_path):  # noqa: F811 (the imported fixture)
    """Yield (origin, page): a browser tab showing a page of an origin other than the API's."""
    with page_server(tmp_path) as origin:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(f"{origin}/index.html")
        yield origin, page
        context.close()


def deposit_twice(page, live_server, user) -> dict:
    return page.evaluate(
        DEPOSIT_TWICE, {"url": f"{live_server.url}/api/v1/wallet/deposit", "token": token_pair_for(user=user).access}
    )


def test_an_allowed_origin_deposits_and_reads_the_exposed_headers(app_page, live_server, settings, user):
    origin, page = app_page
    settings.CORS_ALLOWED_ORIGINS = [origin]
    assert origin.rsplit(":", 1)[1] != live_server.url.rsplit(":", 1)[1]

    result = deposit_twice(page, live_server, user)

    assert "error" not in result, result
    assert result["status"] == 201
    assert result["body"]["type"] == "DEPOSIT"
    assert result["body"]["amount"] == "12.50"
    assert result["requestId"]
    assert result["replayed"] == "true"
    assert result["frameOptions"] is None
    # The replay performed nothing: one deposit.
    assert wallet_of(user).balance == Decimal("12.50")


def test_another_origin_is_refused_by_the_browser_before_anything_is_sent(app_page, live_server, settings, user):
    _, page = app_page
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    result = deposit_twice(page, live_server, user)

    assert "Failed to fetch" in result["error"]
    assert wallet_of(user).balance == Decimal("0.00")
