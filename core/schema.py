"""OpenAPI generation: every operation documents its problem+json error responses."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from core.errors import PROBLEM_CONTENT_TYPE
from core.money import MoneyAmountField

ERROR_DESCRIPTIONS = {
    400: "Invalid input (`validation_error` or a domain rule such as `amount_above_maximum`).",
    401: "Missing, invalid or expired credentials (`not_authenticated`, `invalid_token`, `invalid_credentials`).",
    403: "Authenticated but not allowed (`permission_denied`).",
    404: "No such object, or not yours (`not_found`).",
    409: "Conflicts with the current state (`insufficient_funds`, `out_of_stock`, `idempotency_key_in_use` …).",
    413: "Request body too large (`request_too_large`).",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "Idempotency-Key reused with a different request (`idempotency_key_reused`).",
    429: "Rate limit hit (`throttled`); see `Retry-After`.",
    500: "Unexpected error (`server_error`); no details are disclosed.",
    502: "The payment gateway failed (`gateway_error`).",
    503: "A dependency is unavailable (`gateway_unavailable`, `service_unavailable`).",
}


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


class AutoSchema(SpectacularAutoSchema):
    """Add the problem+json responses an operation can produce to its documentation.

    A view lists the domain errors it raises in `problem_statuses`: a tuple for
    the whole view (or per @action, as an action kwarg), or a dict keyed by
    action name for the standard viewset actions. The
    generic ones (400 on input, 401 where a token is read, 404 on object paths,
    429 when throttled, 500 always) are derived here.
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # drf-spectacular documents every decimal string as maybe negative (`^-?…`); an amount
        # that cannot be negative says so, so "-5" is documented as invalid (the API fuzzer
        # sends it as bad input and expects the 400 it gets).
        if not isinstance(field, MoneyAmountField):
            return schema
        if field.min_value is not None and field.min_value >= 0:
            schema["pattern"] = schema["pattern"].replace("^-?", "^", 1)
        if direction != "request":
            return schema
        # Requests may send money as a JSON number or a string (API.md); responses
        # always send the string.
        description = schema.pop("description", None)
        as_number = {"type": "number", "multipleOf": 0.01}
        if field.min_value is not None:
            as_number["minimum"] = float(field.min_value)
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
        statuses = {500}
        declared = getattr(self.view, "problem_statuses", ())
        if isinstance(declared, dict):
            declared = declared.get(getattr(self.view, "action", None), ())
        statuses.update(declared)
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
