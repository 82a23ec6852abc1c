"""The `PaymentFlow-Signature` header: Stripe's `t=<unix seconds>,v1=<hex HMAC-SHA256>` scheme."""

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def secret_generate() -> str:
    """Return a new endpoint secret: 32 random bytes, hex, with Stripe's recognisable prefix."""
    return SECRET_PREFIX + secrets.token_hex(32)


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """Sign `"<t>.<raw body>"` with the endpoint's secret, as the receiver will recompute it."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
