"""Deliveries and emails driven by their services in this process, against real loopback servers.

The worker only calls these services (tasks.py); the tests with a real worker are in test_worker.py.
"""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from core.tests.threads import run_together
from notifications.models import DeliveryStatus, EmailKind, EmailStatus, OutgoingEmail, WebhookDelivery
from notifications.services import (
    email_send,
    emails_for_completed_order,
    notification_preference_set,
    webhook_deliveries_create,
    webhook_delivery_attempt,
)
from notifications.services.emails import EMAIL_MAX_ATTEMPTS
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from notifications.tests.receivers import message_parts
from orders.models import PaymentMethod
from orders.services import order_purchase
from paymentflow.tests.servers import free_port


@pytest.fixture
def loopback_webhooks(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 6


def _fan_out(*, merchant, event_type="order.completed"):
    return webhook_deliveries_create(
        event_id=uuid4(), event_type=event_type, created_at=timezone.now(), merchant_id=merchant.pk, data={"x": 1}
    )


@pytest.mark.django_db
def test_an_event_fans_out_once_to_each_active_subscribed_endpoint(merchant):
    subscribed = WebhookEndpointFactory(merchant=merchant, events=["order.completed", "order.refunded"])
    WebhookEndpointFactory(merchant=merchant, events=["order.refunded"])
    WebhookEndpointFactory(merchant=merchant, events=["order.completed"], is_active=False)
    WebhookEndpointFactory(events=["order.completed"])  # another merchant's
    event_id = uuid4()
    arguments = dict(
        event_id=event_id, event_type="order.completed", created_at=timezone.now(), merchant_id=merchant.pk, data={}
    )
    [delivery] = webhook_deliveries_create(**arguments)
    assert delivery.endpoint == subscribed
    assert delivery.payload["id"] == str(event_id) and delivery.payload["type"] == "order.completed"
    webhook_deliveries_create(**arguments)  # the same event again: nothing more
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_attempt_is_due_again_after_a_doubling_backoff_then_failed(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    [delivery] = _fan_out(merchant=merchant)
    receiver.statuses.extend([500] * 6)
    waits = []
    for attempt in range(1, 7):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        before = timezone.now()
        delivery = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert (delivery.attempts, delivery.last_status_code) == (attempt, 500)
        if delivery.next_attempt_at:
            waits.append(round((delivery.next_attempt_at - before).total_seconds()))
    assert waits == [30, 60, 120, 240, 480]
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active


@pytest.mark.django_db
def test_a_delivery_not_due_or_done_is_not_sent(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    later = WebhookDeliveryFactory(endpoint=endpoint, next_attempt_at=timezone.now() + timedelta(minutes=1))
    done = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED)
    assert webhook_delivery_attempt(delivery_id=later.pk) is None
    assert webhook_delivery_attempt(delivery_id=done.pk) is None
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_url_that_now_resolves_internally_is_refused_at_connection_time(merchant, receiver, settings):
    # Created while allowed (as if its DNS answer was public then); internal addresses are refused now.
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    [delivery] = _fan_out(merchant=merchant)
    delivery = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "internal address" in delivery.last_error
    assert receiver.requests == [] and endpoint.url == receiver.url


@pytest.mark.django_db
def test_a_disabled_endpoint_gets_nothing_until_enabled(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    [delivery] = _fan_out(merchant=merchant)
    endpoint.is_active = False
    endpoint.save()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    endpoint.is_active = True
    endpoint.save()
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SUCCEEDED
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_an_endpoint_failing_for_days_is_disabled_and_its_merchant_mailed(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(
        merchant=merchant, url=receiver.url, failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    [delivery] = _fan_out(merchant=merchant)
    receiver.statuses.append(503)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert "3 days" in endpoint.disabled_reason
    [notice] = OutgoingEmail.objects.all()
    assert (notice.kind, notice.recipient, notice.subject_id) == (
        EmailKind.ENDPOINT_DISABLED,
        merchant.email,
        endpoint.pk,
    )


@pytest.mark.django_db
def test_a_success_restarts_the_failure_clock(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url, failing_since=timezone.now())
    [delivery] = _fan_out(merchant=merchant)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_attempt(merchant, receiver, loopback_webhooks):
    endpoint = WebhookEndpointFactory(merchant=merchant, url=receiver.url)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    results = run_together(8, lambda _: webhook_delivery_attempt(delivery_id=delivery.pk))
    assert sum(result is not None for result in results) == 1
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)


@pytest.fixture
def completed_order(merchant, user, product, funded_wallet):
    funded_wallet(user, "100.00")
    return order_purchase(buyer=user, product_id=product.pk, quantity=2, method=PaymentMethod.WALLET)


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 2
    return settings


@pytest.mark.django_db
def test_a_receipt_goes_through_smtp_with_text_and_html(completed_order, smtp_settings, smtp_server):
    [receipt] = emails_for_completed_order(order_id=completed_order.pk)
    assert email_send(email_id=receipt.pk).status == EmailStatus.SENT
    [message] = smtp_server.messages
    assert message["To"] == completed_order.buyer.email
    assert message["From"] == "Payment Flow <no-reply@localhost>"
    assert message["Subject"] == f"Your receipt for {completed_order.product_name}"
    parts = message_parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    for body in parts.values():
        assert str(completed_order.pk) in body
        assert "20.00 USD" in body
        assert f"http://localhost:8000/api/v1/orders/{completed_order.pk}/delivery" in body
    # Sent is sent: a second run of the task mails nothing more.
    assert email_send(email_id=receipt.pk) is None
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_the_merchant_gets_a_sale_email_only_when_opted_in(completed_order, merchant):
    assert [e.kind for e in emails_for_completed_order(order_id=completed_order.pk)] == [EmailKind.RECEIPT]
    notification_preference_set(merchant=merchant, sale_emails=True)
    OutgoingEmail.objects.all().delete()
    emails = emails_for_completed_order(order_id=completed_order.pk)
    assert [(e.kind, e.recipient) for e in emails] == [
        (EmailKind.RECEIPT, completed_order.buyer.email),
        (EmailKind.SALE_NOTICE, merchant.email),
    ]
    assert emails_for_completed_order(order_id=completed_order.pk) == []  # once per order


@pytest.mark.django_db
def test_a_mail_server_that_is_down_delays_the_receipt(completed_order, smtp_settings, smtp_server):
    [receipt] = emails_for_completed_order(order_id=completed_order.pk)
    smtp_settings.EMAIL_PORT = free_port()  # nothing listens there
    receipt = email_send(email_id=receipt.pk)
    assert receipt.status == EmailStatus.PENDING and receipt.attempts == 1
    assert "Connection refused" in receipt.last_error or "Errno" in receipt.last_error
    assert receipt.next_attempt_at > timezone.now()
    completed_order.refresh_from_db()
    assert completed_order.status == "COMPLETED"
    # The server is back; once due, the retry goes through.
    smtp_settings.EMAIL_PORT = smtp_server.port
    OutgoingEmail.objects.filter(pk=receipt.pk).update(next_attempt_at=timezone.now())
    assert email_send(email_id=receipt.pk).status == EmailStatus.SENT
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_an_email_that_never_goes_through_is_failed_for_the_operators(completed_order, smtp_settings):
    [receipt] = emails_for_completed_order(order_id=completed_order.pk)
    smtp_settings.EMAIL_PORT = free_port()
    OutgoingEmail.objects.filter(pk=receipt.pk).update(attempts=EMAIL_MAX_ATTEMPTS - 1)
    receipt = email_send(email_id=receipt.pk)
    assert (receipt.status, receipt.next_attempt_at) == (EmailStatus.FAILED, None)


@pytest.mark.django_db
def test_the_sale_notice_and_the_disabled_notice_go_through_smtp(completed_order, merchant, smtp_settings, smtp_server):
    notification_preference_set(merchant=merchant, sale_emails=True)
    emails = emails_for_completed_order(order_id=completed_order.pk)
    endpoint = WebhookEndpointFactory(merchant=merchant)
    disabled = OutgoingEmail.objects.create(
        kind=EmailKind.ENDPOINT_DISABLED,
        subject_id=endpoint.pk,
        recipient=merchant.email,
        dedupe_key="endpoint-disabled:test",
        next_attempt_at=timezone.now(),
    )
    for email in [*emails, disabled]:
        assert email_send(email_id=email.pk).status == EmailStatus.SENT
    by_subject = {message["Subject"]: message for message in smtp_server.messages}
    assert set(by_subject) == {
        f"Your receipt for {completed_order.product_name}",
        f"You sold {completed_order.product_name}",
        "Your webhook endpoint was disabled",
    }
    sale = message_parts(by_subject[f"You sold {completed_order.product_name}"])
    assert str(completed_order.pk) in sale["text/plain"] and "20.00 USD" in sale["text/html"]
    notice = message_parts(by_subject["Your webhook endpoint was disabled"])
    assert endpoint.url in notice["text/plain"] and "3 days" in notice["text/plain"]
    assert endpoint.secret not in notice["text/plain"] + notice["text/html"]
