"""Stripe's webhooks: verify a delivery's signature and read its event, once.

Part of the Stripe boundary with `core.gateway`: the rest of the code never
touches the library, only the `SignedEvent` returned here.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings
from rest_framework import status

from core.errors import ApplicationError
from core.gateway import GatewayUnavailable
from core.parsers import MAX_DEPTH, nested_deeper_than

# Stripe's own default: a 5-minute tolerance, here in both directions.
WEBHOOK_TOLERANCE_SECONDS = 300


class WebhookEventMalformed(ApplicationError):
    """A body that verified but is not a Stripe event we can apply (not a JSON object, a field missing)."""

    default_detail = "The event has no id, type or data object."


class WebhookSignatureInvalid(ApplicationError):
    """The webhook body is not signed by Stripe with our secret, or not recently enough."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_signature"
    title = "Invalid webhook signature"
    default_detail = "The Stripe-Signature header does not verify this payload."


@dataclass(frozen=True)
class SignedEvent:
    """A webhook event whose signature verified: its id, type and the whole event as JSON data."""

    id: str
    type: str
    payload: Mapping[str, Any] = field(repr=False)

    @property
    def data_object(self) -> Mapping[str, Any] | None:
        """Return the object the event is about (`data.object`), or None when it carries none."""
        data = self.payload.get("data")
        data_object = data.get("object") if isinstance(data, dict) else None
        return data_object if isinstance(data_object, dict) else None


def webhook_event_from_request(*, payload: bytes, signature_header: str | None) -> SignedEvent:
    """Verify a webhook's `Stripe-Signature` on the raw body and return its event, parsed once.

    The library only rejects timestamps older than the tolerance; a timestamp
    far in the future is rejected here too, so a captured signature cannot be
    minted ahead of time and replayed later. A verified body that is not an
    event (not JSON, not an object, no id or type) raises `WebhookEventMalformed`.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        # A server error, not a bad request: Stripe keeps retrying until we are configured.
        raise GatewayUnavailable("Stripe webhooks are not configured on this server.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        # ValueError: a body that is not UTF-8.
        raise WebhookSignatureInvalid() from exc
    # verify_header has parsed the header, so it holds a well-formed t=.
    if _signature_timestamp(signature_header) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureInvalid()
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        # Signed with our secret, so not an outsider's forgery: a malformed body (a 400
        # that Stripe shows on its dashboard), never a 500.
        raise WebhookEventMalformed("The event is not JSON, or is nested too deeply.") from exc
    if nested_deeper_than(event, MAX_DEPTH):
        raise WebhookEventMalformed(f"The event is nested more than {MAX_DEPTH} levels deep.")
    if not (isinstance(event, dict) and _non_empty_string(event.get("id")) and _non_empty_string(event.get("type"))):
        raise WebhookEventMalformed()
    return SignedEvent(id=event["id"], type=event["type"], payload=event)


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _signature_timestamp(header: str | None) -> int:
    # Parsed as the library does (WebhookSignature._get_timestamp_and_signatures):
    # the first `t` element of the comma-separated header.
    for element in (header or "").split(","):
        parts = element.split("=", 2)
        if parts[0] == "t" and len(parts) > 1:
            try:
                return int(parts[1])
            except ValueError:
                break
    raise WebhookSignatureInvalid()
