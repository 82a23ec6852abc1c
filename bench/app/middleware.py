"""The server-side latency the benchmarks read, without the client and network in it."""

import threading
from time import perf_counter

import stripe

# Seconds the current request's thread spent waiting for Stripe (HTTP round trips, Stripe's own work).
_gateway = threading.local()


def stripe_calls_timed() -> None:
    """Count the time of every Stripe HTTP call into the current request's `gateway` figure (once per process)."""
    request_with_retries = stripe.RequestsClient.request_with_retries
    if getattr(request_with_retries, "bench_timed", False):
        return

    def timed(self, *args, **kwargs):
        started = perf_counter()
        try:
            return request_with_retries(self, *args, **kwargs)
        finally:
            _gateway.seconds = getattr(_gateway, "seconds", 0.0) + perf_counter() - started

    timed.bench_timed = True
    stripe.RequestsClient.request_with_retries = timed


class ServerTimingMiddleware:
    """Report the time Django spent on the request: `Server-Timing: app;dur=<ms>, gateway;dur=<ms>`.

    Installed first, so `app` runs from the first middleware in to the last out.
    `gateway` is the part of it spent in Stripe's HTTP calls (the official
    library's `RequestsClient`, which core.gateway uses), so the card-order
    benchmark can compare our own work without Stripe's time in it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        stripe_calls_timed()

    def __call__(self, request):
        _gateway.seconds = 0.0
        started = perf_counter()
        response = self.get_response(request)
        app_ms = (perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={app_ms:.3f}, gateway;dur={_gateway.seconds * 1000:.3f}"
        return response
