"""JSON rendering: camelCase keys, encoded by orjson, the same bytes as DRF's JSONRenderer.

The API's bodies were rendered by djangorestframework_camel_case (a regex per key,
an OrderedDict per object) over DRF's `json.dumps`; this renders the same bytes for
a fraction of the CPU. What the wire keeps:

- keys camelCased as that package does (`balance_after` → `balanceAfter`), each
  distinct key converted once per process (a bounded cache: keys are field names);
- compact separators, UTF-8 (no `\\u` escapes of non-ASCII), U+2028/U+2029 escaped;
- money: serializers send Decimals as exact strings ("100.50"); a raw Decimal that
  reaches the renderer is written as its exact string too, never a binary float;
- UUIDs hyphenated; datetimes as DRF writes them (`isoformat()`, `+00:00` as `Z`),
  though the serializers already send the API's format as strings.

A request for indented JSON (`Accept: application/json; indent=4`) is rare and left
to DRF's own encoder, byte for byte as before.
"""

import re
from decimal import Decimal
from functools import lru_cache

import orjson
from django.utils.encoding import force_str
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# djangorestframework_camel_case's rule: `_x` after a letter or digit becomes `X`.
_UNDERSCORE = re.compile(r"[a-z0-9]?_[a-z0-9]")
# Bounded: keys come from field names, but a dict keyed by data must not grow the cache without limit.
_KEY_CACHE_SIZE = 4096
# Non-str keys (rare) are written as json.dumps writes them: 1 → "1", None → "null".
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_DRF_ENCODER = JSONEncoder()
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def _upper(match: re.Match) -> str:
    group = match.group()
    return group[0] + group[2].upper() if len(group) == 3 else group[1].upper()


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def camel_key(key: str) -> str:
    """Return `key` in camelCase (`created_at` → `createdAt`), as djangorestframework_camel_case writes it."""
    return _UNDERSCORE.sub(_upper, key)


def camelize(data):
    """Return `data` with every dict key camelCased, dicts and lists rebuilt, leaves untouched."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(key, Promise):
                key = force_str(key)
            if isinstance(key, str) and "_" in key:
                key = camel_key(key)
            out[key] = camelize(value)
        return out
    if isinstance(data, list | tuple):
        return [camelize(item) for item in data]
    if isinstance(data, Promise):
        return force_str(data)
    return data


def _default(value):
    # What orjson does not encode natively (or is told to pass through), as DRF's encoder would;
    # except Decimal, which stays exact.
    if isinstance(value, Decimal):
        return str(value)
    converted = _DRF_ENCODER.default(value)
    return camelize(converted) if isinstance(converted, dict | list | tuple) else converted


class CamelCaseORJSONRenderer(JSONRenderer):
    """Render camelCase JSON with orjson (the API's default renderer, problem+json bodies included)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        data = camelize(data)
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        body = orjson.dumps(data, default=_default, option=_OPTIONS)
        for raw, escaped in _LINE_SEPARATORS:
            if raw in body:
                body = body.replace(raw, escaped)
        return body
