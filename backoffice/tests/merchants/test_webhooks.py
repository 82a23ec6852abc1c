"""/merchant/ webhooks: a merchant's own endpoints (secret shown once), delivery log, retry, email preference."""

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from backoffice.tests.merchants.helpers import results
from notifications.models import DeliveryStatus, NotificationPreference, WebhookEndpoint
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

ENDPOINTS = "/merchant/notifications/webhookendpoint/"
DELIVERIES = "/merchant/notifications/webhookdelivery/"
PREFERENCES = "/merchant/notifications/notificationpreference/"

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_adding_an_endpoint_shows_its_secret_once(merchant, merchant_client):
    response = merchant_client.post(
        f"{ENDPOINTS}add/", {"url": "https://93.184.215.14/hooks", "events": ["order.completed"], "description": ""}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.merchant == merchant and endpoint.events == ["order.completed"]
    shown = merchant_client.get(response["Location"])
    assert endpoint.secret.encode() in shown.content
    # Once: neither the list nor the endpoint's page shows it again.
    assert endpoint.secret.encode() not in merchant_client.get(ENDPOINTS).content
    assert endpoint.secret.encode() not in merchant_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content


def test_an_internal_url_is_refused_in_the_form(merchant_client):
    response = merchant_client.post(
        f"{ENDPOINTS}add/", {"url": "https://127.0.0.1/hooks", "events": ["order.completed"]}
    )
    assert response.status_code == 200
    assert b"internal address" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_a_merchant_sees_and_disables_only_its_own_endpoints(merchant, merchant_client):
    mine = WebhookEndpointFactory(merchant=merchant)
    theirs = WebhookEndpointFactory()
    assert results(merchant_client.get(ENDPOINTS)) == [mine]
    assert merchant_client.get(f"{ENDPOINTS}{theirs.pk}/change/").status_code == 404
    response = merchant_client.post(
        f"{ENDPOINTS}{mine.pk}/change/",
        {"url": mine.url, "events": mine.events, "description": "", "is_active": ""},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert not mine.is_active


def test_an_automatic_disabling_is_noticed_on_the_endpoints_page(merchant, merchant_client):
    WebhookEndpointFactory(merchant=merchant, is_active=False, disabled_reason="Every delivery failed for 3 days")
    response = merchant_client.get(ENDPOINTS)
    assert any("Every delivery failed for 3 days" in message for message in _messages(response))


def test_the_delivery_log_shows_own_deliveries_and_retries_them(merchant, merchant_client):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    failed = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempts=8, next_attempt_at=None)
    WebhookDeliveryFactory()  # another merchant's
    assert results(merchant_client.get(DELIVERIES)) == [failed]
    response = merchant_client.post(DELIVERIES, {"action": "retry_deliveries", "_selected_action": [str(failed.pk)]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING and failed.next_attempt_at <= timezone.now()


def test_the_endpoint_filter_offers_only_the_merchants_own_endpoints(merchant, merchant_client):
    own = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(merchant=merchant, url="https://own.example.com/hook"))
    others = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url="https://rival.example.com/hook"))

    page = merchant_client.get(DELIVERIES).content.decode()

    assert own.endpoint.url in page
    assert others.endpoint.url not in page
    filtered = merchant_client.get(DELIVERIES, {"endpoint__id__exact": str(own.endpoint_id)})
    assert results(filtered) == [own]


def test_sale_emails_are_opt_in_and_set_here(merchant, merchant_client):
    response = merchant_client.get(PREFERENCES)
    preference = NotificationPreference.objects.get(merchant=merchant)
    assert response.status_code == 302 and response["Location"].endswith(f"{preference.pk}/change/")
    assert not preference.sale_emails
    merchant_client.post(f"{PREFERENCES}{preference.pk}/change/", {"sale_emails": "on"})
    preference.refresh_from_db()
    assert preference.sale_emails
