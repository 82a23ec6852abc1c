"""Prometheus metrics: what is counted, how it is recorded, and `GET /metrics`, which renders them.

Under gunicorn every worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (one directory per server, set up by gunicorn.conf.py,
or one shared with the background workers) and a scrape sums the files of all
processes, past and present, so the counts are the server's whatever worker
answers the scrape. Without that variable (tests,
`manage.py` commands) the samples stay in this process.

Labels are bounded: a request is labelled by its resolved view name, never by
its path, and business counters only by their enumerations.
"""

import hmac
import os
import socket

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.errors import InvalidToken, NotAuthenticated, NotFound
from core.schema import problem_responses
from core.views import FirstRendererOnNotAcceptable

# The methods a request is labelled with; any other (a client may send anything) is "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request that resolved to no view: unknown paths outside the API, preflights
# answered by the CORS middleware, redirects to https.
UNRESOLVED_VIEW = "unresolved"

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A process's sample files are named after it, by pid alone unless told otherwise.
    # Containers sharing one directory (docker-compose.yml's `metrics` volume: the app
    # replicas and the workers) each number their processes from 1, so a gunicorn worker
    # and a Celery child could write the same file; the host name keeps them apart.
    # Set before the first metric below is made, which is when it is read.
    _HOST = socket.gethostname()
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")

http_requests = Counter(
    "paymentflow_http_requests",
    "HTTP requests answered, by view, method and status.",
    ["view", "method", "status"],
)
http_request_duration = Histogram(
    "paymentflow_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a streamed body), by view, method and status.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
orders = Counter(
    "paymentflow_orders",
    "Orders that reached a status (once per order and status, after commit).",
    ["status", "payment_method"],
)
ledger_journals = Counter(
    "paymentflow_ledger_journals", "Ledger journals (money movements) committed, by kind.", ["kind"]
)
webhook_deliveries = Counter(
    "paymentflow_webhook_deliveries", "Merchant webhook delivery attempts, by outcome.", ["status"]
)


def request_observe(*, request, status: int, seconds: float) -> None:
    """Count one answered request and its duration under its view's name."""
    match = getattr(request, "resolver_match", None)
    view = (match.view_name if match else None) or UNRESOLVED_VIEW
    method = request.method if request.method in _METHODS else "other"
    labels = {"view": view, "method": method, "status": str(status)}
    http_requests.labels(**labels).inc()
    http_request_duration.labels(**labels).observe(seconds)


def _after_commit(counter) -> None:
    # Outside a transaction on_commit runs at once; inside one (or a savepoint) only
    # if it commits, so a rolled-back change is never counted.
    transaction.on_commit(counter.inc)


def order_status_record(*, status: str, payment_method: str) -> None:
    """Count an order reaching `status`, once the transaction that moved it commits."""
    _after_commit(orders.labels(status=status, payment_method=payment_method))


def ledger_journal_record(*, kind: str) -> None:
    """Count a journal of `kind`, once the transaction that wrote it commits."""
    _after_commit(ledger_journals.labels(kind=kind))


def webhook_delivery_record(*, status: str) -> None:
    """Count a merchant webhook delivery attempt that ended in `status`, once its transaction commits."""
    _after_commit(webhook_deliveries.labels(status=status))


def metrics_render() -> bytes:
    """Return every metric in the Prometheus text format, summed over all workers when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _bearer_token(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class MetricsView(APIView):
    """Serve the metrics to a scraper holding METRICS_TOKEN."""

    # The metrics token is not a user's JWT: this view checks it itself.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Prometheus asks for its own formats first; the body is text/plain whatever it asks.
    content_negotiation_class = FirstRendererOnNotAcceptable

    @extend_schema(
        operation_id="metrics",
        tags=["operations"],
        auth=[],
        responses={(200, "text/plain"): OpenApiTypes.STR},
        description=(
            "Prometheus text format, for the whole server (all workers). Needs `Authorization: Bearer "
            "<METRICS_TOKEN>`: a missing or wrong token → 401; without METRICS_TOKEN set this endpoint is a 404."
        ),
    )
    @problem_responses(401, 404)
    def get(self, request):
        expected = settings.METRICS_TOKEN
        if not expected:
            raise NotFound("No such endpoint.")
        token = _bearer_token(request)
        if token is None:
            raise NotAuthenticated("Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.")
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise InvalidToken("Wrong metrics token.")
        return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
