"""Send one webhook request: to a checked, pinned address, within a hard deadline, no redirects.

`http.client` is used directly because it follows no redirects and lets the
connection be made to an address of our choosing while the request still names
the hostname: `Host` and TLS SNI (and certificate verification) are for the
hostname, the TCP connection is to the address `urlguard` checked.
"""

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from notifications.urlguard import ResolvedTarget

# What is read of a receiver's answer: enough for its status line and headers;
# the body tells nothing we keep, and an endless one must not hold a worker.
RESPONSE_READ_LIMIT = 64 * 1024


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *, address: str, **kwargs):
        super().__init__(**kwargs)
        self.pinned_address = address

    def connect(self):
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def connect(self):
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def _host_header(target: ResolvedTarget) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.hostname}]" if ":" in target.hostname else target.hostname
    return host if target.port == default else f"{host}:{target.port}"


def webhook_post(*, target: ResolvedTarget, body: bytes, headers: dict[str, str], timeout: float) -> SendResult:
    """POST `body` to the first address of `target` that accepts a connection, all within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    error = "No address to connect to."
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return SendResult(None, f"Timed out after {timeout:g} s.")
        connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(address=address, host=target.hostname, port=target.port, timeout=remaining)
        # The socket timeout bounds each read; this timer bounds them all together,
        # so a receiver trickling one byte a second cannot stretch the 5 seconds.
        watchdog = threading.Timer(remaining, _abort, args=(connection,))
        watchdog.start()
        try:
            try:
                connection.connect()
            except OSError as exc:
                # Nothing was sent yet: the next address may be up.
                error = f"Could not connect to {address}: {exc}"
                continue
            connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
            for name, value in {
                "Host": _host_header(target),
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "User-Agent": "PaymentFlow-Webhooks/1",
                **headers,
            }.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            response.read(RESPONSE_READ_LIMIT)
            return SendResult(response.status, "")
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() >= deadline:
                return SendResult(None, f"Timed out after {timeout:g} s.")
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            watchdog.cancel()
            connection.close()
    if time.monotonic() >= deadline:
        return SendResult(None, f"Timed out after {timeout:g} s.")
    return SendResult(None, error[:500])


def _abort(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
