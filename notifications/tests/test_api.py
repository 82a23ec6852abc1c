"""The webhook endpoints API: a merchant's own endpoints, the secret once, the delivery log, retries."""

import pytest
from django.utils import timezone

from notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

API = "/api/v1/webhook-endpoints"
PUBLIC_URL = "https://93.184.215.14/hooks"

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant_client(auth_client, merchant):
    return auth_client(merchant)


def test_create_answers_the_endpoint_with_its_secret_once(merchant_client, merchant):
    response = merchant_client.post(
        API, {"url": PUBLIC_URL, "events": ["order.completed", "order.refunded"], "description": "shop"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "events", "description", "isActive", "createdAt", "secret"}
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["events"], body["isActive"]) == (PUBLIC_URL, ["order.completed", "order.refunded"], True)
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert (endpoint.merchant, endpoint.secret) == (merchant, body["secret"])
    # Never again: not in the detail, not in the list.
    assert "secret" not in merchant_client.get(f"{API}/{body['id']}").json()
    assert "secret" not in merchant_client.get(API).json()["results"][0]


def test_create_ignores_undocumented_keys(merchant_client, merchant):
    other = WebhookEndpointFactory()
    response = merchant_client.post(
        API,
        {"url": PUBLIC_URL, "events": ["order.completed"], "merchantId": str(other.merchant_id), "secret": "mine"},
        format="json",
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    assert endpoint.merchant == merchant and endpoint.secret != "mine"


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC_URL, "events": ["order.shipped"]},
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL},
        {"url": "http://93.184.215.14/hooks", "events": ["order.completed"]},
        {"url": "https://127.0.0.1/hooks", "events": ["order.completed"]},
        {"url": "https://localhost/hooks", "events": ["order.completed"]},
        {"url": "https://169.254.169.254/latest/meta-data", "events": ["order.completed"]},
        {"url": "not a url", "events": ["order.completed"]},
        {"events": ["order.completed"]},
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(merchant_client, body):
    response = merchant_client.post(API, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not WebhookEndpoint.objects.exists()


def test_buyers_may_not_use_webhooks(auth_client, user):
    response = auth_client(user).post(API, {"url": PUBLIC_URL, "events": ["order.completed"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_is_401(api_client):
    assert api_client.get(API).status_code == 401


def test_another_merchants_endpoint_is_404_everywhere(merchant_client):
    endpoint = WebhookEndpointFactory()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    for response in [
        merchant_client.get(f"{API}/{endpoint.pk}"),
        merchant_client.patch(f"{API}/{endpoint.pk}", {"isActive": False}, format="json"),
        merchant_client.delete(f"{API}/{endpoint.pk}"),
        merchant_client.get(f"{API}/{endpoint.pk}/deliveries"),
        merchant_client.post(f"{API}/{endpoint.pk}/deliveries/{delivery.pk}/retry"),
    ]:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert merchant_client.get(API).json()["count"] == 0


def test_patch_changes_url_events_description_and_active(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    response = merchant_client.patch(
        f"{API}/{endpoint.pk}",
        {"url": "https://93.184.215.15/new", "events": ["product.sold_out"], "isActive": False, "description": "x"},
        format="json",
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_active, endpoint.description) == (
        "https://93.184.215.15/new",
        ["product.sold_out"],
        False,
        "x",
    )


def test_patch_refuses_an_internal_url(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    response = merchant_client.patch(f"{API}/{endpoint.pk}", {"url": "https://10.0.0.1/x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.215.14/payments"


def test_enabling_again_clears_the_platforms_reason(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(
        merchant=merchant, is_active=False, disabled_reason="failing", disabled_at=timezone.now()
    )
    merchant_client.patch(f"{API}/{endpoint.pk}", {"isActive": True}, format="json")
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since) == (
        True,
        "",
        None,
        None,
    )


def test_delete_removes_the_endpoint_and_its_log(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    WebhookDeliveryFactory(endpoint=endpoint)
    assert merchant_client.delete(f"{API}/{endpoint.pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_deliveries_are_listed_newest_first_and_filtered_by_status(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    failed = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempts=8, last_status_code=500)
    succeeded = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED, attempts=1)
    body = merchant_client.get(f"{API}/{endpoint.pk}/deliveries").json()
    assert [row["id"] for row in body["results"]] == [str(succeeded.pk), str(failed.pk)]
    assert set(body["results"][0]) == {
        "id",
        "eventId",
        "eventType",
        "status",
        "attempts",
        "lastStatusCode",
        "nextAttemptAt",
        "createdAt",
    }
    only_failed = merchant_client.get(f"{API}/{endpoint.pk}/deliveries?status=FAILED").json()["results"]
    assert [(row["id"], row["lastStatusCode"]) for row in only_failed] == [(str(failed.pk), 500)]
    assert merchant_client.get(f"{API}/{endpoint.pk}/deliveries?status=NOPE").status_code == 400


def test_retry_makes_a_failed_delivery_due_now(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempts=8, next_attempt_at=None)
    response = merchant_client.post(f"{API}/{endpoint.pk}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at <= timezone.now()
    assert delivery.attempts == 8


def test_retry_on_a_disabled_endpoint_is_409(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant, is_active=False)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED)
    response = merchant_client.post(f"{API}/{endpoint.pk}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 409 and response.json()["code"] == "endpoint_disabled"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_retry_of_a_delivery_of_another_endpoint_is_404(merchant_client, merchant):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    elsewhere = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(merchant=merchant))
    response = merchant_client.post(f"{API}/{endpoint.pk}/deliveries/{elsewhere.pk}/retry")
    assert response.status_code == 404
