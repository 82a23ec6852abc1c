"""JSON request parsing: camelCase keys in, Decimals for numbers, never a float."""

import json
from decimal import Decimal

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


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
        return underscoreize(data, **self.json_underscoreize)
