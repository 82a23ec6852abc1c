"""Structured logs: one JSON object per line, tagged with the request id, scrubbed of secrets.

`RequestLogMiddleware` (core/middleware.py) sets the request id of the
request being served in `request_id_var`; every line logged while it runs
carries it, so an access line and the error it caused share one id.

What is logged is chosen so that no secret needs to be (docs/security.md, Logging):
the access line has method, path (no query string), status, duration, user id
and request id, never headers or bodies. `redact` is the second line of
defence: whatever reaches a handler (an exception message, a library's debug
line) has bearer tokens, JWTs, Stripe keys and client secrets masked before it
is written.
"""

import logging
import re
import time
from contextvars import ContextVar

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[REDACTED]"

# Credentials that can end up inside a log message, masked wherever they appear.
_SECRET_PATTERNS = [
    # A JWT (our access and refresh tokens): three base64url parts, the first two JSON ("eyJ").
    re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"),
    # Any bearer credential, whatever its shape.
    re.compile(r"(?i)(bearer\s+)[^\s,;\"']+"),
    # Stripe secret and restricted keys, webhook signing secrets, PaymentIntent client secrets.
    re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+"),
    re.compile(r"\bwhsec_[A-Za-z0-9_]+"),
    re.compile(r"\bpi_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+"),
    # Django password hashes ("bcrypt_sha256$$2b$12$…"), e.g. in a debug SQL log of a registration.
    re.compile(r"\b(?:bcrypt_sha256|bcrypt|pbkdf2_sha256|pbkdf2_sha1|argon2|scrypt|md5|sha1)\$[^\s'\",)]+"),
    # "password": "…" / password=… in a dumped structure or query.
    re.compile(r"(?i)([\"']?(?:password|secret|token|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s,;\"'&}]+"),
]

# Something every pattern above needs in its match: text without any of these (an access line's
# path, a user id, most messages) is returned as it is, after one scan instead of one per pattern.
_MAYBE_SECRET = re.compile(r"eyJ|\$|_test_|_live_|whsec_|(?i:bearer|password|secret|token|authorization)")

# Attributes every LogRecord has; anything else was passed in `extra` and is emitted as a field.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask every credential `_SECRET_PATTERNS` recognises in `text`."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda match: (match.group(1) if match.groups() else "") + REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: time, level, logger, message, request id and `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            # ISO 8601 UTC to the millisecond, "2026-01-01T12:00:00.123Z".
            "time": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id_of(record)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            # `request` (Django's, on django.request lines) is an object whose repr has the query string.
            if key not in _STANDARD_ATTRIBUTES and key not in entry and key != "request" and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Redacted field by field, before JSON escaping could hide a `"password": "…"` from the patterns.
        # orjson: the same JSON as json.dumps(ensure_ascii=False), compact, in a fraction of the time.
        return orjson.dumps(
            {key: redact(value) if isinstance(value, str) else value for key, value in entry.items()}
        ).decode()


class PlainFormatter(logging.Formatter):
    """The human-readable format (`LOG_FORMAT=plain`), with the request id and the same redaction."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = _request_id_of(record) or "-"
        return redact(super().format(record))


def _request_id_of(record: logging.LogRecord) -> str | None:
    """Return the id of the request a record belongs to.

    Django logs its 4xx/5xx warnings (django.request) after the middleware has
    returned, so those are matched through the request they carry.
    """
    return (
        getattr(record, "request_id", None)
        or request_id_var.get()
        or getattr(getattr(record, "request", None), "request_id", None)
    )
