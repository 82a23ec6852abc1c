"""Request middleware: problem+json for non-DRF failures under the API prefix, and the access log."""

import logging
import re
import time
import uuid

from django.conf import settings

from core.errors import ServerError, problem_response
from core.logging import request_id_var
from core.metrics import request_observe

logger = logging.getLogger("paymentflow.errors")
access_logger = logging.getLogger("paymentflow.request")


class ApiErrorMiddleware:
    """Answer an exception escaping a plain Django view under the API with a clean 500.

    DRF views already go through `core.errors.exception_handler`; this
    covers the rest (and DEBUG mode, where Django would render a traceback page).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = f"/{settings.API_PREFIX}/"

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(self.prefix):
            return None
        logger.exception("Unhandled exception on %s %s", request.method, request.path)
        return problem_response(ServerError())


class RequestLogMiddleware:
    """Give every request an id and log one structured access line for it.

    The id is the client's `X-Request-ID` when it is sane (1 to 128 characters of
    letters, digits and `._:-`, so it cannot forge log lines), else a new UUID;
    it is returned in the `X-Request-ID` response header and tagged on every log
    line written while the request runs. The access line holds method, path
    (without the query string), status, duration and user id: never headers,
    bodies, tokens or passwords (docs/security.md, Logging). The same timing feeds
    the request metrics (core/metrics.py). First in MIDDLEWARE, so it times and
    sees every response, redirects, preflights and errors included.
    """

    HEADER = "X-Request-ID"
    # Read from META directly: `request.headers` would build a map of every header first.
    _META_KEY = "HTTP_X_REQUEST_ID"
    _SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(self._META_KEY, "")
        request_id = incoming if self._SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[self.HEADER] = request_id
            seconds = time.perf_counter() - started
            request_observe(request=request, status=response.status_code, seconds=seconds)
            self._log(request, response.status_code, seconds)
            return response
        finally:
            request_id_var.reset(token)

    @staticmethod
    def _log(request, status_code: int, seconds: float) -> None:
        # DRF puts the user its JWT authentication found on the Django request; without a
        # token that is None, or AuthenticationMiddleware's (lazy, session) user.
        level = logging.ERROR if status_code >= 500 else logging.INFO
        # A level that is off (LOG_LEVEL=WARNING) writes nothing: build nothing for it either.
        if not access_logger.isEnabledFor(level):
            return
        user = request.__dict__.get("user")
        user_id = str(user.pk) if getattr(user, "is_authenticated", False) else None
        access_logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user_id": user_id,
            },
        )
