"""The Stripe gateway against localstripe: intents, refunds, failures, webhook signatures."""

import logging
import socket
import threading
import time
import uuid
from decimal import Decimal

import pytest
import stripe

from core import gateway
from core.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayUnavailable,
    PaymentIntentNotCancelable,
    gateway_is_configured,
    payment_intent_cancel,
    payment_intent_create,
    payment_intent_retrieve,
    refund_create,
)
from core.stripe_events import WebhookEventMalformed, WebhookSignatureInvalid, webhook_event_from_request
from core.tests import webhook_urls
from core.tests.localstripe import (
    CARD_DECLINED,
    CARD_SUCCEEDS,
    STRIPE_TEST_SECRET_KEY,
    confirm_payment_intent,
    stripe_test_client,
    wait_until,
)

WEBHOOK_SECRET = "whsec_test_unit"


@pytest.fixture
def sent_requests(monkeypatch) -> list[tuple[str, str, dict]]:
    """Record (method, url, headers) of every request the stripe library sends; they still go out."""
    sent: list[tuple[str, str, dict]] = []
    send = stripe.RequestsClient.request

    def recording_send(self, method, url, headers, post_data=None):
        sent.append((method, url, dict(headers or {})))
        return send(self, method, url, headers, post_data)

    monkeypatch.setattr(stripe.RequestsClient, "request", recording_send)
    return sent


@pytest.fixture
def webhook_secret(settings) -> str:
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def _paid_intent(*, order_id: int, amount: Decimal = Decimal("10.50")):
    intent = payment_intent_create(order_id=order_id, amount=amount, currency="USD")
    assert confirm_payment_intent(payment_intent_id=intent.id) == "succeeded"
    return intent


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- configuration ------------------------------------------------------------


@pytest.mark.parametrize("metadata", [None, {}, {"order_id": ""}, {"order_id": "not-an-id"}, {"order_id": 7}])
def test_metadata_without_one_of_our_ids_names_nothing(metadata):
    assert gateway.metadata_uuid(metadata, "order_id") is None


def test_metadata_names_the_id_we_stored():
    order_id = uuid.uuid4()

    assert gateway.metadata_uuid({"order_id": str(order_id)}, "order_id") == order_id


def test_gateway_is_configured_only_with_both_secrets(settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_x", "whsec_x"
    assert gateway_is_configured()
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert not gateway_is_configured()
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "", "whsec_x"
    assert not gateway_is_configured()


def test_without_secret_key_every_call_raises_gateway_unavailable(settings, sent_requests):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"

    calls = [
        lambda: payment_intent_create(order_id=1, amount=Decimal("1.00"), currency="USD"),
        lambda: payment_intent_retrieve(payment_intent_id="pi_x"),
        lambda: payment_intent_cancel(payment_intent_id="pi_x"),
        lambda: refund_create(payment_intent_id="pi_x", idempotency_key="refund-1"),
    ]
    for call in calls:
        with pytest.raises(GatewayUnavailable) as excinfo:
            call()
        assert (excinfo.value.status_code, excinfo.value.code) == (503, "gateway_unavailable")
    assert sent_requests == []


def test_webhook_without_webhook_secret_raises_gateway_unavailable(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = '{"id": "evt_1", "object": "event"}'
    header = stripe.WebhookSignature.generate_signature_header(payload, "whsec_anything")

    with pytest.raises(GatewayUnavailable):
        webhook_event_from_request(payload=payload.encode(), signature_header=header)


# --- PaymentIntents -----------------------------------------------------------


def test_create_sends_amount_in_cents_currency_and_order_id(stripe_settings):
    intent = payment_intent_create(order_id=42, amount=Decimal("10.50"), currency="USD", description="Order 42")

    assert intent.id.startswith("pi_")
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.status, intent.amount_minor, intent.currency) == ("requires_payment_method", 1050, "usd")
    assert dict(intent.metadata) == {"order_id": "42", "description": "Order 42"}
    stored = stripe_test_client().v1.payment_intents.retrieve(intent.id)
    assert (stored.amount, stored.currency, stored.metadata.to_dict()["order_id"]) == (1050, "usd", "42")


def test_create_keys_the_request_by_order_id(stripe_settings, sent_requests):
    payment_intent_create(order_id=42, amount=Decimal("10.50"), currency="USD")
    payment_intent_create(order_id=42, amount=Decimal("10.50"), currency="USD")
    payment_intent_create(order_id=43, amount=Decimal("10.50"), currency="USD")

    # localstripe ignores Idempotency-Key (Stripe replays the first intent), so
    # the proof is the header every create carries.
    keys = [headers["Idempotency-Key"] for method, _url, headers in sent_requests if method == "post"]
    assert keys == ["pi-create-42", "pi-create-42", "pi-create-43"]


def test_retrieve_returns_the_current_state(stripe_settings):
    created = payment_intent_create(order_id=7, amount=Decimal("3.00"), currency="USD")

    retrieved = payment_intent_retrieve(payment_intent_id=created.id)

    assert retrieved == created


def test_retrieve_unknown_intent_raises_gateway_error(stripe_settings):
    with pytest.raises(GatewayError) as excinfo:
        payment_intent_retrieve(payment_intent_id="pi_doesnotexist")

    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.http_status) == (502, "gateway_error", 404)


def test_confirming_with_a_test_card_succeeds(stripe_settings):
    intent = _paid_intent(order_id=1)

    assert payment_intent_retrieve(payment_intent_id=intent.id).status == "succeeded"


def test_declined_card_leaves_the_intent_awaiting_a_payment_method(stripe_settings):
    intent = payment_intent_create(order_id=2, amount=Decimal("5.00"), currency="USD")

    status = confirm_payment_intent(payment_intent_id=intent.id, payment_method=CARD_DECLINED)

    retrieved = payment_intent_retrieve(payment_intent_id=intent.id)
    assert status == retrieved.status == "requires_payment_method"


def test_cancel_cancels_and_tolerates_an_intent_already_canceled(stripe_settings):
    intent = payment_intent_create(order_id=3, amount=Decimal("5.00"), currency="USD")

    first = payment_intent_cancel(payment_intent_id=intent.id)
    second = payment_intent_cancel(payment_intent_id=intent.id)

    assert first.status == second.status == "canceled"
    assert payment_intent_retrieve(payment_intent_id=intent.id).status == "canceled"


def test_cancel_of_a_paid_intent_raises_not_cancelable(stripe_settings):
    intent = _paid_intent(order_id=4)

    with pytest.raises(PaymentIntentNotCancelable) as excinfo:
        payment_intent_cancel(payment_intent_id=intent.id)

    assert excinfo.value.intent_status == "succeeded"
    assert excinfo.value.code == "gateway_error"


def test_refund_in_full_and_in_part(stripe_settings, sent_requests):
    intent = _paid_intent(order_id=5, amount=Decimal("10.50"))

    partial = refund_create(payment_intent_id=intent.id, amount=Decimal("2.50"), idempotency_key="refund-5-a")
    rest = refund_create(payment_intent_id=intent.id, amount=Decimal("8.00"), idempotency_key="refund-5-b")

    assert (partial.status, partial.amount_minor, partial.currency) == ("succeeded", 250, "usd")
    assert (rest.amount_minor, rest.payment_intent_id) == (800, intent.id)
    refunds = stripe_test_client().v1.refunds.list({"payment_intent": intent.id})
    assert sum(refund.amount for refund in refunds.data) == 1050
    refund_keys = [headers["Idempotency-Key"] for _m, url, headers in sent_requests if url.endswith("/v1/refunds")]
    assert refund_keys == ["refund-5-a", "refund-5-b"]


def test_refund_without_amount_refunds_everything(stripe_settings):
    intent = _paid_intent(order_id=6, amount=Decimal("7.25"))

    refund = refund_create(payment_intent_id=intent.id, idempotency_key="refund-6")

    assert (refund.status, refund.amount_minor) == ("succeeded", 725)


def test_refund_of_a_declined_payment_raises_gateway_error(stripe_settings):
    intent = payment_intent_create(order_id=8, amount=Decimal("5.00"), currency="USD")
    confirm_payment_intent(payment_intent_id=intent.id, payment_method=CARD_DECLINED)

    with pytest.raises(GatewayError) as excinfo:
        refund_create(payment_intent_id=intent.id, idempotency_key="refund-8")

    assert excinfo.value.http_status == 400


def test_neither_secret_key_nor_client_secret_reaches_logs(stripe_settings, caplog):
    caplog.set_level(logging.DEBUG)

    intent = payment_intent_create(order_id=9, amount=Decimal("5.00"), currency="USD")
    payment_intent_retrieve(payment_intent_id=intent.id)
    with pytest.raises(GatewayError):
        payment_intent_retrieve(payment_intent_id="pi_doesnotexist")

    assert caplog.records, "the calls were logged"
    assert STRIPE_TEST_SECRET_KEY not in caplog.text
    assert intent.client_secret not in caplog.text
    assert intent.client_secret not in repr(intent)


# --- network failures ---------------------------------------------------------


def test_unreachable_gateway_raises_gateway_error_after_bounded_retries(stripe_settings, sent_requests):
    stripe_settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"

    started = time.monotonic()
    with pytest.raises(GatewayError) as excinfo:
        payment_intent_create(order_id=10, amount=Decimal("5.00"), currency="USD")

    assert time.monotonic() - started < 5
    assert len(sent_requests) == 1 + gateway.MAX_NETWORK_RETRIES
    assert {headers["Idempotency-Key"] for _m, _u, headers in sent_requests} == {"pi-create-10"}
    assert (excinfo.value.code, excinfo.value.http_status) == ("gateway_error", None)


@pytest.mark.parametrize(
    ("http_status", "unknown"),
    [(None, True), (500, True), (503, True), (409, True), (400, False), (402, False), (404, False), (429, False)],
)
def test_which_failures_leave_the_outcome_unknown(http_status, unknown):
    assert GatewayError(http_status=http_status).outcome_unknown is unknown


def test_beyond_the_concurrent_calls_allowed_a_call_fails_at_once(stripe_settings, monkeypatch, sent_requests):
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(gateway, "_call_slots", slots)
    slots.acquire()  # the one slot is taken by a call still waiting on Stripe
    try:
        started = time.monotonic()
        with pytest.raises(GatewayBusy) as excinfo:
            payment_intent_retrieve(payment_intent_id="pi_x")
    finally:
        slots.release()

    assert time.monotonic() - started < 0.5
    assert (excinfo.value.status_code, excinfo.value.code) == (503, "gateway_unavailable")
    assert sent_requests == []
    # The slot is free again once the waiting call returns.
    with pytest.raises(GatewayError):
        payment_intent_retrieve(payment_intent_id="pi_doesnotexist")


def test_gateway_that_never_answers_times_out(stripe_settings, monkeypatch):
    monkeypatch.setattr(gateway, "READ_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(gateway, "MAX_NETWORK_RETRIES", 0)
    with socket.socket() as silent:
        # Connections complete in the kernel's backlog; nothing ever answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        stripe_settings.STRIPE_API_BASE = f"http://127.0.0.1:{silent.getsockname()[1]}"

        started = time.monotonic()
        with pytest.raises(GatewayError) as excinfo:
            payment_intent_retrieve(payment_intent_id="pi_x")

    assert time.monotonic() - started < 2
    assert excinfo.value.code == "gateway_error"


# --- webhook signatures -------------------------------------------------------

EVENT_PAYLOAD = (
    '{"id": "evt_test_1", "object": "event", "type": "payment_intent.succeeded", "created": 1700000000,'
    ' "data": {"object": {"id": "pi_test_1", "object": "payment_intent", "status": "succeeded",'
    ' "amount": 1050, "currency": "usd", "client_secret": "pi_test_1_secret_x", "metadata": {"order_id": "42"}}}}'
)


def _signed(payload: str, *, secret: str = WEBHOOK_SECRET, age_seconds: int = 0) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(time.time()) - age_seconds)


def test_webhook_signed_with_the_secret_verifies(webhook_secret):
    event = webhook_event_from_request(payload=EVENT_PAYLOAD.encode(), signature_header=_signed(EVENT_PAYLOAD))

    assert (event.id, event.type) == ("evt_test_1", "payment_intent.succeeded")
    intent = event.data_object
    assert (intent["id"], intent["status"], intent["amount"], intent["metadata"]["order_id"]) == (
        "pi_test_1",
        "succeeded",
        1050,
        "42",
    )


@pytest.mark.parametrize(
    "payload",
    ['["an", "array"]', '{"type": "payment_intent.succeeded"}', '{"id": "evt_1"}', '{"id": "", "type": "x"}'],
    ids=["array", "no-id", "no-type", "empty-id"],
)
def test_a_signed_body_that_is_not_an_event_is_malformed(webhook_secret, payload):
    with pytest.raises(WebhookEventMalformed) as excinfo:
        webhook_event_from_request(payload=payload.encode(), signature_header=_signed(payload))

    assert (excinfo.value.status_code, excinfo.value.code) == (400, "validation_error")


def test_webhook_within_the_tolerance_verifies(webhook_secret):
    # Clock skew between Stripe and us is tolerated both ways.
    for age in (290, -290):
        header = _signed(EVENT_PAYLOAD, age_seconds=age)
        assert webhook_event_from_request(payload=EVENT_PAYLOAD.encode(), signature_header=header).id == "evt_test_1"


@pytest.mark.parametrize(
    "signature_header",
    [
        pytest.param(lambda: _signed(EVENT_PAYLOAD, secret="whsec_someone_else"), id="other-secret"),
        pytest.param(lambda: _signed(EVENT_PAYLOAD.replace("1050", "1"), secret=WEBHOOK_SECRET), id="other-body"),
        pytest.param(lambda: None, id="missing"),
        pytest.param(lambda: "", id="empty"),
        pytest.param(lambda: "t=now,v1=abc", id="malformed"),
        pytest.param(lambda: _signed(EVENT_PAYLOAD).split(",")[0], id="no-v1"),
        pytest.param(lambda: _signed(EVENT_PAYLOAD, age_seconds=301), id="stale"),
        pytest.param(lambda: _signed(EVENT_PAYLOAD, age_seconds=-301), id="future"),
    ],
)
def test_webhook_that_does_not_verify_raises_signature_invalid(webhook_secret, signature_header):
    with pytest.raises(WebhookSignatureInvalid) as excinfo:
        webhook_event_from_request(payload=EVENT_PAYLOAD.encode(), signature_header=signature_header())

    assert (excinfo.value.status_code, excinfo.value.code) == (400, "invalid_signature")


def test_a_body_that_is_not_utf8_does_not_verify(webhook_secret):
    payload = b"\xff\xfe"

    with pytest.raises(WebhookSignatureInvalid):
        webhook_event_from_request(payload=payload, signature_header=_signed(payload.decode("latin-1")))


@pytest.mark.parametrize(
    "payload",
    ["not json", "[" * 2000 + "]" * 2000, '{"id": "evt_1", "type": "x", "data": ' + "[" * 40 + "]" * 40 + "}"],
    ids=["not-json", "nested-2000-deep", "nested-past-the-limit"],
)
def test_a_signed_body_that_cannot_be_read_is_malformed_never_a_crash(webhook_secret, payload):
    with pytest.raises(WebhookEventMalformed) as excinfo:
        webhook_event_from_request(payload=payload.encode(), signature_header=_signed(payload))

    assert (excinfo.value.status_code, excinfo.value.code) == (400, "validation_error")


# --- end to end: localstripe -> live_server -----------------------------------


@pytest.mark.urls("core.tests.webhook_urls")
@pytest.mark.parametrize(
    ("card", "event_type", "status"),
    [
        (CARD_SUCCEEDS, "payment_intent.succeeded", "succeeded"),
        (CARD_DECLINED, "payment_intent.payment_failed", "requires_payment_method"),
    ],
)
def test_localstripe_delivers_signed_webhooks_that_verify(live_server, stripe_webhook_to, card, event_type, status):
    webhook_urls.received.clear()
    stripe_webhook_to(f"{live_server.url}/webhook")
    intent = payment_intent_create(order_id=11, amount=Decimal("10.50"), currency="USD")

    confirm_payment_intent(payment_intent_id=intent.id, payment_method=card)

    def delivered():
        return [event for event, _ in webhook_urls.received if event and event.data_object["id"] == intent.id]

    wait_until(delivered)
    assert all(error is None for _, error in webhook_urls.received), "every delivery verified"
    [event] = delivered()
    assert event.type == event_type
    delivered_intent = event.data_object
    assert (delivered_intent["status"], delivered_intent["amount"], delivered_intent["metadata"]["order_id"]) == (
        status,
        1050,
        "11",
    )


def test_refund_list_returns_every_refund_of_an_intent(stripe_settings):
    intent = gateway.payment_intent_create(order_id=uuid.uuid4(), amount=Decimal("30.00"), currency="USD")
    confirm_payment_intent(payment_intent_id=intent.id)
    gateway.refund_create(payment_intent_id=intent.id, amount=Decimal("10.00"), idempotency_key="r-1")
    gateway.refund_create(payment_intent_id=intent.id, amount=Decimal("5.00"), idempotency_key="r-2")

    refunds = gateway.refund_list(payment_intent_id=intent.id)

    assert sorted(r.amount_minor for r in refunds) == [500, 1000]
    assert {r.payment_intent_id for r in refunds} == {intent.id}
