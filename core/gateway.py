"""The Stripe gateway: PaymentIntents, refunds and webhook verification.

A thin layer over the official `stripe` library so that the rest of the code
never touches the library's object model or its exceptions: calls return small
frozen dataclasses and fail with one of our `ApplicationError`s —
`GatewayUnavailable` (not configured, 503) or `GatewayError` (Stripe could not
be reached or refused the request, 502). `STRIPE_API_BASE` points the client at
a Stripe-compatible server (the test suite runs localstripe).

Secrets stay out of logs and error messages: the secret key is only ever handed
to the library, and `PaymentIntentInfo.client_secret` is left out of its repr.
"""

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from uuid import UUID

import stripe
from django.conf import settings
from rest_framework import status

from core.errors import ApplicationError
from core.money import to_minor_units

logger = logging.getLogger("paymentflow.gateway")


def _without_debug_records(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


# At DEBUG the library logs every response body, client secrets included: its
# DEBUG records are dropped even when the project runs with LOG_LEVEL=DEBUG
# (a filter, so the level configured for the logger is left alone).
logging.getLogger("stripe").addFilter(_without_debug_records)

# A Stripe call runs inside a request (POST /orders, a refund): the worst case,
# 3 attempts x (2 s connect + 6 s read) plus at most 1.5 s of back-off, stays
# under gunicorn's 30 s worker timeout, so a dead gateway is answered with a 502
# instead of a killed worker. The library reuses the same Idempotency-Key on its
# retries, so a retried POST cannot create a second object.
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 6.0
MAX_NETWORK_RETRIES = 2

# Stripe's own default: a 5-minute tolerance, here in both directions.
WEBHOOK_TOLERANCE_SECONDS = 300


class GatewayUnavailable(ApplicationError):
    """Card payments are not configured (no Stripe keys)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "gateway_unavailable"
    title = "Payment gateway unavailable"
    default_detail = "Card payments are not available on this server."


class GatewayError(ApplicationError):
    """Stripe could not be reached, timed out, or refused the request.

    `detail` is safe to show to a client; `http_status`, `stripe_code` and
    `request_id` are for logs and for callers that must tell cases apart.
    """

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "gateway_error"
    title = "Payment gateway error"
    default_detail = "The payment gateway could not complete the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        http_status: int | None = None,
        stripe_code: str | None = None,
        request_id: str | None = None,
    ):
        super().__init__(detail)
        self.http_status = http_status
        self.stripe_code = stripe_code
        self.request_id = request_id


class PaymentIntentNotCancelable(GatewayError):
    """The PaymentIntent is past the point where it can be canceled (it succeeded or is processing)."""

    default_detail = "The payment can no longer be canceled."

    def __init__(self, *, intent_status: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.intent_status = intent_status


class WebhookEventMalformed(ApplicationError):
    """A body that verified but is not a Stripe event we can store (no id or type, not a JSON object)."""

    default_detail = "The event has no id, type or data object."


class WebhookSignatureInvalid(ApplicationError):
    """The webhook body is not signed by Stripe with our secret, or not recently enough."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_signature"
    title = "Invalid webhook signature"
    default_detail = "The Stripe-Signature header does not verify this payload."


@dataclass(frozen=True)
class PaymentIntentInfo:
    """What the application needs to know about a PaymentIntent."""

    id: str
    # The browser needs it to confirm the payment; it must never reach a log.
    client_secret: str = field(repr=False)
    status: str
    amount_minor: int
    currency: str
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class RefundInfo:
    """A refund as Stripe recorded it."""

    id: str
    status: str
    amount_minor: int
    currency: str
    payment_intent_id: str


def gateway_is_configured() -> bool:
    """Return whether card payments can be taken: both Stripe secrets are set.

    A secret key without a webhook secret would create PaymentIntents whose
    success could never be verified, leaving paid orders PENDING.
    """
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def payment_intent_create(
    *, order_id: int | str | UUID, amount: Decimal, currency: str, description: str = ""
) -> PaymentIntentInfo:
    """Create the PaymentIntent that pays for an order.

    The Idempotency-Key is derived from the order id, so a repeated call for the
    same order (a retry after a timeout, a crash before the id was stored)
    returns the intent Stripe already created instead of a second one.
    `description` travels in the metadata: Stripe-compatible test servers
    (localstripe) reject the top-level field.
    """
    client = _client()
    metadata = {"order_id": str(order_id)}
    if description:
        metadata["description"] = description[:500]  # Stripe's limit for a metadata value
    params = {
        "amount": to_minor_units(amount),
        "currency": currency.lower(),
        "metadata": metadata,
        "payment_method_types": ["card"],
    }
    with _stripe_errors("payment_intent_create"):
        intent = client.v1.payment_intents.create(params, options={"idempotency_key": f"pi-create-{order_id}"})
    return _payment_intent_info(intent)


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Return the current state of a PaymentIntent."""
    client = _client()
    with _stripe_errors("payment_intent_retrieve"):
        intent = client.v1.payment_intents.retrieve(payment_intent_id)
    return _payment_intent_info(intent)


def payment_intent_cancel(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Cancel a PaymentIntent; one that is already canceled is returned as it is.

    Raises `PaymentIntentNotCancelable` when the payment has gone through (or is
    processing): the caller must then treat the order as paid, not expired.
    """
    client = _client()
    try:
        with _stripe_errors("payment_intent_cancel"):
            intent = client.v1.payment_intents.cancel(payment_intent_id)
    except GatewayError as exc:
        # Stripe answers 400 `payment_intent_unexpected_state` (localstripe: a bare
        # 400) for an intent that cannot be canceled; its state tells why.
        if exc.http_status != status.HTTP_400_BAD_REQUEST:
            raise
        current = payment_intent_retrieve(payment_intent_id=payment_intent_id)
        if current.status == "canceled":
            return current
        raise PaymentIntentNotCancelable(
            intent_status=current.status,
            http_status=exc.http_status,
            stripe_code=exc.stripe_code,
            request_id=exc.request_id,
        ) from exc
    return _payment_intent_info(intent)


def refund_create(*, payment_intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> RefundInfo:
    """Refund a paid PaymentIntent, in full or `amount` of it.

    `idempotency_key` must be stable for one refund decision (e.g.
    f"refund-{order_id}"), so a retry cannot refund twice.
    """
    client = _client()
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = to_minor_units(amount)
    with _stripe_errors("refund_create"):
        refund = client.v1.refunds.create(params, options={"idempotency_key": idempotency_key})
    return _refund_info(refund, payment_intent_id=payment_intent_id)


def refund_list(*, payment_intent_id: str) -> list[RefundInfo]:
    """Return every refund Stripe holds for a PaymentIntent (all pages)."""
    client = _client()
    with _stripe_errors("refund_list"):
        refunds = client.v1.refunds.list({"payment_intent": payment_intent_id, "limit": 100})
        return [_refund_info(refund, payment_intent_id=payment_intent_id) for refund in refunds.auto_paging_iter()]


def _refund_info(refund: Any, *, payment_intent_id: str) -> RefundInfo:
    return RefundInfo(
        id=refund.id,
        status=refund.status,
        amount_minor=refund.amount,
        currency=refund.currency,
        payment_intent_id=_id_of(refund.payment_intent) or payment_intent_id,
    )


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
    minted ahead of time and replayed later. A verified JSON body that is not
    an event (not an object, no id or type) raises `WebhookEventMalformed`.
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
        # What Stripe signs is JSON: a body that is not has not come from Stripe.
        raise WebhookSignatureInvalid() from exc
    if not (isinstance(event, dict) and _non_empty_string(event.get("id")) and _non_empty_string(event.get("type"))):
        raise WebhookEventMalformed()
    return SignedEvent(id=event["id"], type=event["type"], payload=event)


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _client() -> stripe.StripeClient:
    if not gateway_is_configured():
        raise GatewayUnavailable()
    return _stripe_client(
        api_key=settings.STRIPE_SECRET_KEY,
        api_base=settings.STRIPE_API_BASE,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        max_network_retries=MAX_NETWORK_RETRIES,
    )


@lru_cache(maxsize=4)
def _stripe_client(
    *, api_key: str, api_base: str, connect_timeout: float, read_timeout: float, max_network_retries: int
) -> stripe.StripeClient:
    # One client per configuration keeps its HTTP sessions (one per thread) and
    # their keep-alive connections across calls.
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=(connect_timeout, read_timeout)),
    )


@contextmanager
def _stripe_errors(operation: str) -> Iterator[None]:
    """Turn the library's exceptions into `GatewayError`, logging what operators need."""
    try:
        yield
    except stripe.StripeError as exc:
        # The class, status, code and request id identify the failure at Stripe;
        # the message is left out, it may echo request data.
        logger.warning(
            "Stripe %s failed: %s http_status=%s code=%s request_id=%s",
            operation,
            type(exc).__name__,
            exc.http_status,
            exc.code,
            exc.request_id,
        )
        if isinstance(exc, stripe.APIConnectionError):
            detail = "The payment gateway could not be reached."
        else:
            detail = "The payment gateway refused the request."
        raise GatewayError(
            detail, http_status=exc.http_status, stripe_code=exc.code, request_id=exc.request_id
        ) from exc


def _payment_intent_info(intent: Any) -> PaymentIntentInfo:
    metadata = getattr(intent, "metadata", None)
    return PaymentIntentInfo(
        id=intent.id,
        client_secret=getattr(intent, "client_secret", None) or "",
        status=intent.status,
        amount_minor=intent.amount,
        currency=intent.currency,
        metadata=MappingProxyType({k: str(v) for k, v in metadata.to_dict().items()} if metadata else {}),
    )


def _id_of(value: Any) -> str | None:
    """Return the id of a field that Stripe sends either as an id or expanded."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)


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
