"""OpenAPI generation: every operation documents its problem+json error responses."""

from collections.abc import Callable

from django.conf import settings
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.errors import PROBLEM_CONTENT_TYPE
from core.idempotency import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER
from core.money import MONEY_PATTERN, MoneyAmountField

ERROR_DESCRIPTIONS = {
    400: "Invalid input (`validation_error` or a domain rule such as `amount_above_maximum`).",
    401: "Missing, invalid or expired credentials (`not_authenticated`, `invalid_token`, `invalid_credentials`).",
    403: "Authenticated but not allowed (`permission_denied`).",
    404: "No such object, or not yours (`not_found`).",
    409: "Conflicts with the current state (`insufficient_funds`, `out_of_stock`, `idempotency_key_in_use` …).",
    410: "A download link that no longer works (`link_expired`, `download_limit_reached`, `entitlement_revoked`).",
    413: "Request body too large (`request_too_large`).",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "Idempotency-Key reused with a different request (`idempotency_key_reused`).",
    429: "Rate limit hit (`throttled`); see `Retry-After`.",
    500: "Unexpected error (`server_error`); no details are disclosed.",
    502: "The payment gateway failed (`gateway_error`).",
    503: "A dependency is unavailable (`gateway_unavailable`).",
}


IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        name=IDEMPOTENCY_HEADER,
        # The length the decorator enforces, so clients (and the API fuzzer) know a longer key is a 400.
        type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        location=OpenApiParameter.HEADER,
        required=False,
        description=(
            "Optional, 1 to 255 characters, scoped to the caller. Repeating a completed request with the same key, "
            "path and body returns the stored response (with `Idempotent-Replayed: true`) and performs nothing; a "
            f"different body or path → 422; while the first is still running → 409. Kept for "
            f"{settings.IDEMPOTENCY_KEY_TTL_HOURS} h."
        ),
    ),
    OpenApiParameter(
        name=REPLAYED_HEADER,
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        response=True,
        enum=["true"],
        description="Present (`true`) when this is the stored response of an earlier request with the same key.",
    ),
]


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with the stable `code` clients switch on."""

    type = serializers.CharField(default="about:blank")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field → messages; present on validation errors only.",
    )


def problem_responses(*statuses: int) -> Callable:
    """Document the statuses of the domain errors a view method answers with (409, 502 …).

    The one way a view declares them, on any handler (a viewset action, a
    standard `create`, an APIView's `post`), in any position among its other
    decorators. The generic statuses (400 on input, 401 where a token is read,
    404 on object paths, 409/422 for Idempotency-Key, 429 when throttled, 500
    always) are derived by `AutoSchema` and need not be listed.
    """

    def decorate(handler: Callable) -> Callable:
        handler.problem_statuses = frozenset(getattr(handler, "problem_statuses", ())) | set(statuses)
        return handler

    return decorate


class AutoSchema(SpectacularAutoSchema):
    """Document what the house conventions add to every operation.

    The problem+json responses an operation can produce (`problem_responses`
    and the derived ones), and the Idempotency-Key headers of an `@idempotent`
    handler.
    """

    def _handler(self) -> Callable | None:
        name = getattr(self.view, "action", None) or self.method.lower()
        return getattr(self.view, name, None)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if getattr(self._handler(), "idempotent", False):
            parameters = [*parameters, *IDEMPOTENCY_PARAMETERS]
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # An amount is documented as exactly what the field accepts (MONEY_PATTERN, its
        # bounds), so a client or the API fuzzer can tell valid from invalid input.
        if not isinstance(field, MoneyAmountField):
            return schema
        schema["pattern"] = MONEY_PATTERN
        if direction != "request":
            return schema
        # Requests may send money as a JSON number or a string; responses
        # always send the string.
        description = schema.pop("description", None)
        as_number = {"type": "number", "multipleOf": 0.01, "minimum": float(field.min_value)}
        if field.max_value is not None:
            as_number["maximum"] = float(field.max_value)
        money = {"oneOf": [as_number, schema]}
        if description:
            money["description"] = description
        return money

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in sorted(self._problem_statuses()):
            key = str(status_code)
            if key in responses:
                continue
            responses[key] = {
                "description": ERROR_DESCRIPTIONS[status_code],
                "content": {
                    PROBLEM_CONTENT_TYPE: {"schema": self.resolve_serializer(ProblemSerializer, "response").ref}
                },
            }
        return responses

    def _problem_statuses(self) -> set[int]:
        handler = self._handler()
        statuses = {500, *getattr(handler, "problem_statuses", ())}
        if getattr(handler, "idempotent", False):
            statuses.update((409, 422))
        if self.method in ("POST", "PUT", "PATCH") or self._get_filter_parameters() or self._is_list_view():
            statuses.add(400)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.update((413, 415))
        # Public views still answer 401 to a bad bearer token, so any view that
        # authenticates at all can produce one.
        if self.view.authentication_classes:
            statuses.add(401)
        if "{" in self.path or self._is_list_view():
            statuses.add(404)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses
