"""JSON request parsing: camelCase keys in, Decimals for numbers, never a float."""

import json
from decimal import Decimal

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError

# API bodies are flat objects. Anything nested deeper is an attack on the recursion of
# the code that walks the parsed body (camelCase conversion, the idempotency
# fingerprint): a 600-deep array passes json.loads and would be a 500 there.
# Refused up front, whatever comes after.
MAX_DEPTH = 32


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def nested_deeper_than(data, limit: int) -> bool:
    """Return whether `data` has lists/objects nested more than `limit` levels (iteratively: no recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False


class DecimalCamelCaseJSONParser(CamelCaseJSONParser):
    """Parse JSON numbers as Decimal so `10.10` never passes through a binary float."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                stream.read().decode(encoding),
                parse_float=Decimal,
                parse_constant=_reject_constant,
            )
        except (ValueError, RecursionError) as exc:
            raise ParseError("JSON parse error.") from exc
        if nested_deeper_than(data, MAX_DEPTH):
            raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep.")
        return underscoreize(data, **self.json_underscoreize)
