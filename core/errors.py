"""The one error shape of the API: RFC 9457 problem+json with a stable `code`.

Every error the API can answer is an `ApplicationError` subclass carrying its
status, `code` and `title` (the human summary of the code; `detail` says what
happened this time). Apps subclass it in their `exceptions.py`; the generic
ones (bad input, authentication, 404, 500 …) are here. `exception_handler`
turns those, DRF's and Django's exceptions into the body of the API guide
(docs/api.md, Errors).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("paymentflow.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ApplicationError(Exception):
    """Raise a domain error that the API renders with its own status, code and title."""

    status_code: int = 400
    code: str = "validation_error"
    title: str = "Invalid input"
    default_detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidInput(ApplicationError):
    default_detail = "The request body or query has invalid fields."


class NotAuthenticated(ApplicationError):
    status_code = 401
    code = "not_authenticated"
    title = "Not authenticated"
    default_detail = "Authentication credentials were not provided."


class InvalidToken(ApplicationError):
    status_code = 401
    code = "invalid_token"
    title = "Invalid token"
    default_detail = "Token is invalid, expired or revoked."


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"
    default_detail = "You do not have permission to do this."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    title = "Not found"
    default_detail = "Not found."


class MethodNotAllowed(ApplicationError):
    status_code = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class NotAcceptable(ApplicationError):
    status_code = 406
    code = "not_acceptable"
    title = "Not acceptable"


class RequestTooLarge(ApplicationError):
    status_code = 413
    code = "request_too_large"
    title = "Request too large"
    default_detail = "The request body is too large."


class UnsupportedMediaType(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Throttled(ApplicationError):
    status_code = 429
    code = "throttled"
    title = "Too many requests"


class ServerError(ApplicationError):
    status_code = 500
    code = "server_error"
    title = "Internal server error"
    default_detail = "An unexpected error occurred."


# DRF's exception classes → ours. Order matters: subclasses before their bases.
_DRF_ERRORS: list[tuple[type[exceptions.APIException], type[ApplicationError]]] = [
    (exceptions.ValidationError, InvalidInput),
    (exceptions.ParseError, InvalidInput),
    (exceptions.NotAuthenticated, NotAuthenticated),
    (exceptions.AuthenticationFailed, InvalidToken),
    (exceptions.PermissionDenied, PermissionDenied),
    (exceptions.NotFound, NotFound),
    (exceptions.MethodNotAllowed, MethodNotAllowed),
    (exceptions.NotAcceptable, NotAcceptable),
    (exceptions.UnsupportedMediaType, UnsupportedMediaType),
    (exceptions.Throttled, Throttled),
]


def problem_body(error: ApplicationError, *, errors: Any = None) -> dict:
    """Build the problem+json body that every error response carries."""
    body = {
        "type": "about:blank",
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        "code": error.code,
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


def _from_drf(exc: exceptions.APIException) -> tuple[ApplicationError, Any]:
    """Return our error for a DRF exception, and the per-field `errors` of a validation error."""
    error_class = next((ours for theirs, ours in _DRF_ERRORS if isinstance(exc, theirs)), None)
    if isinstance(exc, exceptions.ValidationError):
        return InvalidInput(), _normalise_errors(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return InvalidInput("The request body is not valid JSON."), {"non_field_errors": [str(exc.detail)]}
    if error_class is None:
        # An APIException with a status of its own (a library's): keep its status, say nothing more.
        error = ServerError(_detail_text(exc.detail))
        error.status_code = exc.status_code
        return error, None
    return error_class(_detail_text(exc.detail)), None


def exception_handler(exc: Exception, context: dict) -> Response:
    """Render any exception raised in a DRF view as problem+json.

    Services own their transactions and roll them back as the exception leaves
    them, so nothing half-written remains; DRF's `set_rollback` still marks the
    request's transaction where ATOMIC_REQUESTS wraps one around the view.
    """
    set_rollback()
    headers: dict[str, str] = {}
    errors = None

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        error = exc
    elif isinstance(exc, RequestDataTooBig):
        error = RequestTooLarge()
    elif isinstance(exc, exceptions.APIException):
        error, errors = _from_drf(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = f"{int(exc.wait)}"
    else:
        # Never leak the exception text: it may hold SQL or secrets. Log it instead.
        view = context.get("view")
        logger.exception("Unhandled exception in %s", type(view).__name__ if view else "view")
        error = ServerError()

    return Response(
        problem_body(error, errors=errors),
        status=error.status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_response(error: ApplicationError) -> JsonResponse:
    """Return a problem+json response from plain Django code (outside DRF views)."""
    return JsonResponse(problem_body(error), status=error.status_code, content_type=PROBLEM_CONTENT_TYPE)
