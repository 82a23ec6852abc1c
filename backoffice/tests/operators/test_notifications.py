"""/admin/ notifications: failed deliveries first, a retry action, emails, endpoints without their secrets."""

import pytest

from notifications.models import DeliveryStatus
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

DELIVERIES = "/admin/notifications/webhookdelivery/"

pytestmark = pytest.mark.django_db


def test_the_deliveries_page_opens_on_the_failed_ones(operator_client):
    failed = WebhookDeliveryFactory(status=DeliveryStatus.FAILED, last_status_code=500)
    WebhookDeliveryFactory(status=DeliveryStatus.SUCCEEDED)
    response = operator_client.get(DELIVERIES)
    assert list(response.context["cl"].result_list) == [failed]
    assert len(operator_client.get(DELIVERIES, {"status": "all"}).context["cl"].result_list) == 2


def test_an_operator_retries_a_failed_delivery(operator_client):
    failed = WebhookDeliveryFactory(status=DeliveryStatus.FAILED, next_attempt_at=None)
    operator_client.post(DELIVERIES, {"action": "retry", "_selected_action": [str(failed.pk)]})
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING


def test_an_endpoints_secret_is_never_shown(operator_client):
    endpoint = WebhookEndpointFactory()
    response = operator_client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/")
    assert response.status_code == 200
    assert endpoint.secret.encode() not in response.content


def test_the_emails_page_lists_them(operator_client):
    assert operator_client.get("/admin/notifications/outgoingemail/").status_code == 200
