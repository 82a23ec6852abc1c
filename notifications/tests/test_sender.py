"""The HTTP sender and the signature, against a real receiver on loopback (no worker needed)."""

import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.sender import webhook_post
from notifications.signing import secret_generate, signature_header
from notifications.tests.receivers import signature_valid
from notifications.urlguard import ResolvedTarget


def _target(port: int, *, hostname: str = "127.0.0.1", addresses=("127.0.0.1",)) -> ResolvedTarget:
    return ResolvedTarget(scheme="http", hostname=hostname, port=port, path="/hooks?x=1", addresses=addresses)


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = signature_header(secret="whsec_test", timestamp=1700000000, body=b'{"a":1}')
    # printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    assert header == "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"


def test_a_receiver_verifies_the_signature_and_refuses_a_tampered_body():
    secret = secret_generate()
    now = int(time.time())
    header = signature_header(secret=secret, timestamp=now, body=b'{"id":"1"}')
    assert signature_valid(secret=secret, header=header, body=b'{"id":"1"}')
    assert not signature_valid(secret=secret, header=header, body=b'{"id":"2"}')
    assert not signature_valid(secret=secret_generate(), header=header, body=b'{"id":"1"}')
    stale = signature_header(secret=secret, timestamp=now - 3600, body=b"{}")
    assert not signature_valid(secret=secret, header=stale, body=b"{}")


def test_post_sends_body_headers_and_the_hostname_as_host(receiver):
    result = webhook_post(
        target=_target(receiver.port, hostname="hooks.merchant.test"),
        body=b'{"id":"e1"}',
        headers={"PaymentFlow-Event-Id": "e1"},
        timeout=5,
    )
    assert (result.status_code, result.succeeded) == (200, True)
    [request] = receiver.requests
    assert request.path == "/hooks?x=1"
    assert request.body == b'{"id":"e1"}'
    # Connected to the pinned address, while the request names the hostname: a DNS
    # answer that changed after the check could not have moved the connection.
    assert request.headers["Host"] == f"hooks.merchant.test:{receiver.port}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["PaymentFlow-Event-Id"] == "e1"


@pytest.mark.parametrize("status", [301, 302, 307, 400, 404, 500, 503])
def test_anything_but_2xx_fails_and_redirects_are_not_followed(receiver, status):
    receiver.statuses.append(status)
    result = webhook_post(target=_target(receiver.port), body=b"{}", headers={}, timeout=5)
    assert (result.status_code, result.succeeded) == (status, False)
    assert len(receiver.requests) == 1


def test_the_next_address_is_tried_when_one_refuses_connections(receiver):
    # The receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the same port.
    target = ResolvedTarget("http", "127.0.0.1", receiver.port, "/", ("127.0.0.2", "127.0.0.1"))
    assert webhook_post(target=target, body=b"{}", headers={}, timeout=5).status_code == 200


class _Trickle(BaseHTTPRequestHandler):
    """Answers one header byte every 0.3 s: each read is quick, the whole is not."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.3)

    def log_message(self, *args):
        pass


def test_the_timeout_bounds_the_whole_exchange_not_each_read():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result = webhook_post(target=_target(server.server_address[1]), body=b"{}", headers={}, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert result.status_code is None and "Timed out" in result.error
    assert elapsed < 2


def test_nothing_listening_is_a_failed_attempt():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = webhook_post(target=_target(port), body=b"{}", headers={}, timeout=2)
    assert result.status_code is None and "Could not connect" in result.error


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An https receiver on 127.0.0.1 whose certificate names `hooks.merchant.test`, trusted for this test."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 (a fixed command)
        [
            shutil.which("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=hooks.merchant.test", "-addext", "subjectAltName=DNS:hooks.merchant.test",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    # The sender's default context loads the trust store named here (OpenSSL's default paths).
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], server_names
    server.shutdown()
    server.server_close()


def test_https_is_verified_for_the_hostname_while_connected_to_the_pinned_address(tls_receiver):
    port, server_names = tls_receiver
    target = ResolvedTarget("https", "hooks.merchant.test", port, "/hooks", ("127.0.0.1",))
    result = webhook_post(target=target, body=b"{}", headers={}, timeout=5)
    assert result.status_code == 204
    assert server_names == ["hooks.merchant.test"]


def test_a_certificate_for_another_name_fails_the_attempt(tls_receiver):
    port, _ = tls_receiver
    target = ResolvedTarget("https", "evil.test", port, "/hooks", ("127.0.0.1",))
    result = webhook_post(target=target, body=b"{}", headers={}, timeout=5)
    assert result.status_code is None and "certificate" in result.error.lower()
