"""The one error shape of the API: RFC 9457 problem+json with a stable `code`.

Services raise `ApplicationError` subclasses (each app has its own in
`exceptions.py`); `exception_handler` turns those, DRF's and Django's exceptions
into the body documented in API.md, and marks the transaction for rollback so a
failed request never leaves half of its writes behind.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import connections
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("core.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Title per code: the human summary; `detail` says what happened this time.
TITLES = {
    "validation_error": "Invalid input",
    "amount_above_maximum": "Amount above maximum",
    "amount_below_minimum": "Amount below minimum",
    "cannot_buy_own_product": "Cannot buy own product",
    "not_authenticated": "Not authenticated",
    "invalid_token": "Invalid token",
    "invalid_credentials": "Invalid credentials",
    "permission_denied": "Permission denied",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "not_acceptable": "Not acceptable",
    "unsupported_media_type": "Unsupported media type",
    "email_taken": "Email taken",
    "insufficient_funds": "Insufficient funds",
    "out_of_stock": "Out of stock",
    "product_unavailable": "Product unavailable",
    "wallet_frozen": "Wallet frozen",
    "invalid_order_state": "Invalid order state",
    "idempotency_key_in_use": "Idempotency key in use",
    "idempotency_key_reused": "Idempotency key reused",
    "throttled": "Too many requests",
    "request_too_large": "Request too large",
    "gateway_unavailable": "Payment gateway unavailable",
    "gateway_error": "Payment gateway error",
    "invalid_signature": "Invalid webhook signature",
    "payment_mismatch": "Payment does not match the order",
    "server_error": "Internal server error",
    "service_unavailable": "Service unavailable",
}


class ApplicationError(Exception):
    """Raise a domain error that the API renders with its own status and code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "validation_error"
    default_detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None, *, code: str | None = None, status_code: int | None = None):
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.detail)


# DRF exception class → our code. Order matters: subclasses before their bases.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "validation_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "invalid_token"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def problem_body(*, status_code: int, code: str, detail: str, errors: Any = None) -> dict:
    """Build the problem+json body that every error response carries."""
    body = {
        "type": "about:blank",
        "title": TITLES.get(code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def _normalise_errors(detail: Any) -> dict:
    """Shape DRF's ValidationError detail as `{field: [messages]}`."""
    if isinstance(detail, dict):
        return {
            field: [str(m) for m in messages] if isinstance(messages, list) else _nested(messages)
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _nested(value: Any) -> Any:
    if isinstance(value, dict):
        return _normalise_errors(value)
    return [str(value)]


def _detail_text(detail: Any) -> str:
    # simplejwt puts a dict (detail, code, messages) in its exceptions; keep the sentence.
    if isinstance(detail, dict):
        return str(detail.get("detail", "The request was rejected."))
    return str(detail)


def set_rollback() -> None:
    """Mark any open atomic block for rollback, so a failed request writes nothing.

    Unlike DRF's helper this does not depend on ATOMIC_REQUESTS: services own
    their transactions, and an outer block (the idempotency wrapper) must not
    commit the half of a request that failed.
    """
    for connection in connections.all(initialized_only=True):
        # The blocks a test case wraps around each test belong to the test, not to
        # the request: marking one would make every later query in that test fail
        # with TransactionManagementError. Blocks opened by the code under test are
        # still marked, exactly as in production.
        if connection.in_atomic_block and not connection.atomic_blocks[-1]._from_testcase:
            connection.set_rollback(True)


def exception_handler(exc: Exception, context: dict) -> Response:
    """Render any exception raised in a DRF view as problem+json."""
    set_rollback()
    headers: dict[str, str] = {}
    errors = None

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        status_code, code, detail = exc.status_code, exc.code, exc.detail
    elif isinstance(exc, RequestDataTooBig):
        status_code, code, detail = 413, "request_too_large", "The request body is too large."
    elif isinstance(exc, exceptions.APIException):
        status_code = exc.status_code
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "server_error")
        if isinstance(exc, exceptions.ValidationError):
            errors = _normalise_errors(exc.detail)
            detail = "The request body or query has invalid fields."
        elif isinstance(exc, exceptions.ParseError):
            errors = {"non_field_errors": [str(exc.detail)]}
            detail = "The request body is not valid JSON."
        else:
            detail = _detail_text(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = f"{int(exc.wait)}"
    else:
        # Never leak the exception text: it may hold SQL or secrets. Log it instead.
        view = context.get("view")
        logger.exception("Unhandled exception in %s", type(view).__name__ if view else "view")
        status_code, code, detail = 500, "server_error", "An unexpected error occurred."

    return Response(
        problem_body(status_code=status_code, code=code, detail=detail, errors=errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_response(*, status_code: int, code: str, detail: str) -> JsonResponse:
    """Return a problem+json response from plain Django code (outside DRF views)."""
    return JsonResponse(
        problem_body(status_code=status_code, code=code, detail=detail),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
