"""The Stripe gateway: PaymentIntents and refunds (webhook verification is `core.stripe_events`).

A thin layer over the official `stripe` library so that the rest of the code
never touches the library's object model or its exceptions: calls return small
frozen dataclasses and fail with one of our `ApplicationError`s —
`GatewayUnavailable` (not configured, 503) or `GatewayError` (Stripe could not
be reached or refused the request, 502). `STRIPE_API_BASE` points the client at
a Stripe-compatible server (the test suite runs localstripe).

Secrets stay out of logs and error messages: the secret key is only ever handed
to the library, and `PaymentIntentInfo.client_secret` is left out of its repr.
"""

import logging
import threading
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
# 2 attempts x (2 s connect + 5 s read) plus the back-off between them, is about
# 15 s, well under gunicorn's 30 s timeout, so a dead gateway is answered with a
# 502 instead of a killed worker. The library reuses the same Idempotency-Key on
# its retry, so a retried POST cannot create a second object.
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 5.0
MAX_NETWORK_RETRIES = 1

# At most this many Stripe calls wait at once in one process (GATEWAY_MAX_CONCURRENT_CALLS);
# one more fails at once with 503. So a stalled Stripe holds a few of a worker's
# threads, never all of them, and every request that does not need Stripe is answered.
_call_slots = threading.BoundedSemaphore(settings.GATEWAY_MAX_CONCURRENT_CALLS)


class GatewayUnavailable(ApplicationError):
    """Card payments are not configured (no Stripe keys)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "gateway_unavailable"
    title = "Payment gateway unavailable"
    default_detail = "Card payments are not available on this server."


class GatewayBusy(GatewayUnavailable):
    """Too many Stripe calls are waiting in this process already; this one was not sent."""

    default_detail = "The payment gateway is busy; retry shortly."


class GatewayError(ApplicationError):
    """Stripe could not be reached, timed out, or refused the request.

    `detail` is safe to show to a client; `http_status`, `stripe_code` and
    `request_id` are for logs and for callers that must tell cases apart;
    `outcome_unknown` says whether Stripe may have done it anyway.
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

    @property
    def outcome_unknown(self) -> bool:
        """Return whether the request may have taken effect at Stripe although it failed here.

        No answer (a timeout, a dropped connection), a server error, or a 409 (a
        request with the same idempotency key still running) say nothing of the
        outcome; any other answer is Stripe refusing to act.
        """
        return self.http_status is None or self.http_status >= 500 or self.http_status == 409


class PaymentIntentNotCancelable(GatewayError):
    """The PaymentIntent is past the point where it can be canceled (it succeeded or is processing)."""

    default_detail = "The payment can no longer be canceled."

    def __init__(self, *, intent_status: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.intent_status = intent_status


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
    """A refund as Stripe recorded it; `metadata` is what we sent with it (our refund id)."""

    id: str
    status: str
    amount_minor: int
    currency: str
    payment_intent_id: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def metadata_uuid(metadata: Mapping[str, Any] | None, key: str) -> UUID | None:
    """Return the id we stored under `key` in a Stripe object's metadata; None when absent or not an id.

    Metadata can be edited at Stripe and arrives in webhook bodies, so what is
    found there is a lookup key at most, never trusted to be well formed.
    """
    try:
        return UUID(str((metadata or {}).get(key)))
    except ValueError:
        return None


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
    with _stripe_call("payment_intent_create"):
        intent = client.v1.payment_intents.create(params, options={"idempotency_key": f"pi-create-{order_id}"})
    return _payment_intent_info(intent)


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Return the current state of a PaymentIntent."""
    client = _client()
    with _stripe_call("payment_intent_retrieve"):
        intent = client.v1.payment_intents.retrieve(payment_intent_id)
    return _payment_intent_info(intent)


def payment_intent_cancel(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Cancel a PaymentIntent; one that is already canceled is returned as it is.

    Raises `PaymentIntentNotCancelable` when the payment has gone through (or is
    processing): the caller must then treat the order as paid, not expired.
    """
    client = _client()
    try:
        with _stripe_call("payment_intent_cancel"):
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


def refund_create(
    *,
    payment_intent_id: str,
    amount: Decimal | None = None,
    idempotency_key: str,
    metadata: Mapping[str, str] | None = None,
) -> RefundInfo:
    """Refund a paid PaymentIntent, in full or `amount` of it.

    `idempotency_key` must be stable for one refund decision (our refund's id),
    so a retry cannot refund twice; `metadata` names that decision, so the
    refund can be found again when the key has expired at Stripe (24 h).
    """
    client = _client()
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = to_minor_units(amount)
    if metadata:
        params["metadata"] = dict(metadata)
    with _stripe_call("refund_create"):
        refund = client.v1.refunds.create(params, options={"idempotency_key": idempotency_key})
    return _refund_info(refund, payment_intent_id=payment_intent_id)


def refund_list(*, payment_intent_id: str) -> list[RefundInfo]:
    """Return every refund Stripe holds for a PaymentIntent (all pages)."""
    client = _client()
    with _stripe_call("refund_list"):
        refunds = client.v1.refunds.list({"payment_intent": payment_intent_id, "limit": 100})
        return [_refund_info(refund, payment_intent_id=payment_intent_id) for refund in refunds.auto_paging_iter()]


def _refund_info(refund: Any, *, payment_intent_id: str) -> RefundInfo:
    metadata = getattr(refund, "metadata", None)
    return RefundInfo(
        id=refund.id,
        status=refund.status,
        amount_minor=refund.amount,
        currency=refund.currency,
        payment_intent_id=_id_of(refund.payment_intent) or payment_intent_id,
        metadata=MappingProxyType(_string_map(metadata)),
    )


def _string_map(metadata: Any) -> dict[str, str]:
    return {key: str(value) for key, value in metadata.to_dict().items()} if metadata else {}


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
def _stripe_call(operation: str) -> Iterator[None]:
    """Run one Stripe call in a free slot (else `GatewayBusy`); turn its failures into `GatewayError`."""
    if not _call_slots.acquire(blocking=False):
        logger.warning(
            "Stripe %s not sent: %s calls are waiting already", operation, settings.GATEWAY_MAX_CONCURRENT_CALLS
        )
        raise GatewayBusy()
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
    finally:
        _call_slots.release()


def _payment_intent_info(intent: Any) -> PaymentIntentInfo:
    metadata = getattr(intent, "metadata", None)
    return PaymentIntentInfo(
        id=intent.id,
        client_secret=getattr(intent, "client_secret", None) or "",
        status=intent.status,
        amount_minor=intent.amount,
        currency=intent.currency,
        metadata=MappingProxyType(_string_map(metadata)),
    )


def _id_of(value: Any) -> str | None:
    """Return the id of a field that Stripe sends either as an id or expanded."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)
