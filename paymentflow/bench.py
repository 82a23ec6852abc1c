"""Benchmark-only pieces, installed only when the `BENCH` setting is on (`make bench` sets it).

- `ok`: `GET /api/v1/bench/ok` answers `{"ok": true}` through the same
  middleware, renderer and DRF view machinery as every endpoint, with no
  authentication, permission, throttle, database or cache: the framework's
  floor that `bench/run.py` compares the cached product reads against.
- `ServerTimingMiddleware`: adds `Server-Timing: app;dur=<ms>` (time inside
  Django, from the first middleware in to the last out), which the history
  benchmark reads to report server-side latency without the client and
  network in it.

Neither is ever mounted in production: `BENCH` defaults to false.
"""

from time import perf_counter

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


@extend_schema(exclude=True)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def ok(request):
    """Answer a constant JSON body: what a request costs with no work in it."""
    return Response({"ok": True})


class ServerTimingMiddleware:
    """Report the time Django spent on the request in a `Server-Timing` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(perf_counter() - started) * 1000:.3f}"
        return response
