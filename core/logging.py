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

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

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

# Attributes every LogRecord has; anything else was passed in `extra` and is emitted as a field.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask every credential `_SECRET_PATTERNS` recognises in `text`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda match: (match.group(1) if match.groups() else "") + REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: time, level, logger, message, request id and `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        entry = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
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
        return json.dumps(
            {key: redact(value) if isinstance(value, str) else value for key, value in entry.items()},
            ensure_ascii=False,
        )


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
