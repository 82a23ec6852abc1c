"""Webhooks and receipts end to end: a real purchase, the real Celery worker, real receivers on loopback."""

import pytest

from notifications.models import DeliveryStatus, EmailKind, EmailStatus, OutgoingEmail, WebhookDelivery
from notifications.tasks import webhook_deliveries_retry_due
from notifications.tests.factories import WebhookEndpointFactory
from notifications.tests.receivers import message_parts
from orders.models import PaymentMethod
from orders.services import order_purchase
from paymentflow.tests.celery_worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The worker's attempts time out after 2 s, so a killed worker's claim lapses after 2 * 2 + 5 s.
WORKER_TIMEOUT_SECONDS = 2


@pytest.fixture
def celery_worker_env(smtp_server):
    return {
        "WEBHOOK_ALLOW_INSECURE_URLS": "true",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "WEBHOOK_TIMEOUT_SECONDS": str(WORKER_TIMEOUT_SECONDS),
        "EMAIL_URL": smtp_server.email_url,
        "DEFAULT_FROM_EMAIL": "Shop <shop@example.com>",
    }


@pytest.fixture
def buy(user, product, funded_wallet):
    """Return `buy()`: the `user` buys one unit of `product` from its wallet (a committed order.completed)."""
    funded_wallet(user, "100.00")
    return lambda: order_purchase(buyer=user, product_id=product.pk, quantity=1, method=PaymentMethod.WALLET)


def _sweeping(condition):
    """Run the retry sweep (beat's job) while waiting, so due attempts are queued to the worker."""

    def check():
        webhook_deliveries_retry_due()
        return condition()

    return check


def test_a_sale_is_pushed_signed_to_the_merchants_endpoint(celery_worker, receiver, merchant, buy):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url, events=["order.completed"])
    order = buy()
    wait_for(lambda: receiver.requests, message="the webhook")
    [request] = receiver.requests
    assert receiver.signed_by(endpoint.secret) == [request]
    event = request.json
    assert set(event) == {"id", "type", "createdAt", "data"}
    assert event["type"] == "order.completed"
    assert request.headers["PaymentFlow-Event-Id"] == event["id"]
    assert event["data"]["order"]["id"] == str(order.pk)
    assert event["data"]["order"]["status"] == "COMPLETED"
    assert event["data"]["order"]["totalAmount"] == "10.00"
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).first(), message="success recorded"
    )
    assert (delivery.attempts, delivery.last_status_code, str(delivery.event_id)) == (1, 200, event["id"])


def test_a_receiver_failing_then_succeeding_gets_the_event_by_retries(celery_worker, receiver, merchant, buy):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    receiver.statuses.extend([500, 503])
    buy()
    delivery = wait_for(
        _sweeping(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).first()),
        message="delivered on the third attempt",
    )
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)
    assert len(receiver.requests) == 3
    # Each attempt is signed afresh, and is the same event.
    assert len(receiver.signed_by(endpoint.secret)) == 3
    assert len({r.headers["PaymentFlow-Event-Id"] for r in receiver.requests}) == 1


def test_the_buyer_gets_a_receipt_through_smtp(celery_worker, smtp_server, user, product, buy):
    order = buy()
    wait_for(lambda: smtp_server.messages, message="the receipt")
    [message] = smtp_server.messages
    assert message["To"] == user.email and message["From"] == "Shop <shop@example.com>"
    assert product.name in message["Subject"]
    parts = message_parts(message)
    assert str(order.pk) in parts["text/plain"] and str(order.pk) in parts["text/html"]
    assert "10.00 USD" in parts["text/plain"]
    assert f"/api/v1/orders/{order.pk}/delivery" in parts["text/plain"]
    wait_for(lambda: OutgoingEmail.objects.filter(kind=EmailKind.RECEIPT, status=EmailStatus.SENT).exists())


def test_a_worker_killed_mid_delivery_loses_nothing(celery_worker, receiver, merchant, buy):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    receiver.hold.clear()  # the receiver holds its answer: the worker waits in the middle of the attempt
    buy()
    assert receiver.arrived.wait(timeout=30), celery_worker.log()
    celery_worker.kill()
    receiver.hold.set()
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    celery_worker.start()
    # Once the dead worker's claim lapses, the sweep hands the attempt to the new worker.
    delivery = wait_for(
        _sweeping(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).first()),
        timeout=60,
        interval=0.5,
        message="delivered after the restart",
    )
    assert delivery.attempts == 2
    # At least once: the same event, signed, twice; the receiver dedupes on its id.
    assert len(receiver.signed_by(endpoint.secret)) == 2
    assert len({r.headers["PaymentFlow-Event-Id"] for r in receiver.requests}) == 1
