"""The server-side latency the history benchmark reads, without the client and network in it."""

from time import perf_counter


class ServerTimingMiddleware:
    """Report the time Django spent on the request in a `Server-Timing: app;dur=<ms>` header.

    Installed first, so the time runs from the first middleware in to the last out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(perf_counter() - started) * 1000:.3f}"
        return response
