"""The public license API: validate, activate, deactivate a delivered code; the limit under concurrency."""

import base64
import uuid

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.tests.threads import run_together
from delivery.crypto import code_decrypt, code_lookup_hash
from delivery.models import Code, CodeStatus, LicenseActivation
from delivery.tests.factories import codes_product
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund
from orders.tests.helpers import funded_buyer

pytestmark = pytest.mark.django_db

VALIDATE, ACTIVATE, DEACTIVATE = (f"/api/v1/licenses/{verb}" for verb in ("validate", "activate", "deactivate"))


def sold_key(*, activation_limit=3, codes=2):
    """Sell one code of a new CODES product; return (key, order, product)."""
    product = codes_product(codes=codes, activation_limit=activation_limit)
    order = order_purchase(buyer=funded_buyer("100.00"), product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    code = Code.objects.get(delivery__order_id=order.id)
    return code_decrypt(code.ciphertext), order, product


def activate(client, key, name="Laptop"):
    return client.post(ACTIVATE, {"key": key, "instanceName": name}, format="json")


def test_a_delivered_key_validates(api_client):
    key, _, product = sold_key()

    response = api_client.post(VALIDATE, {"key": key}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "valid": True,
        "status": "ACTIVE",
        "productId": str(product.id),
        "activationLimit": 3,
        "activations": 0,
        "instance": None,
    }


def test_unknown_and_never_delivered_keys_are_404(api_client):
    codes_product(codes=["IN-THE-POOL-ONLY"])

    for key in ("NO-SUCH-KEY", "IN-THE-POOL-ONLY"):
        response = api_client.post(VALIDATE, {"key": key}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_activation_then_validation_of_that_instance(api_client):
    key, _, _ = sold_key()

    activated = activate(api_client, f"  {key} ", name="Work laptop")

    assert activated.status_code == 201, activated.content
    body = activated.json()
    assert set(body) == {"instanceId", "instanceName", "activations", "activationLimit", "createdAt"}
    assert (body["instanceName"], body["activations"], body["activationLimit"]) == ("Work laptop", 1, 3)
    state = api_client.post(VALIDATE, {"key": key, "instanceId": body["instanceId"]}, format="json").json()
    assert (state["valid"], state["activations"]) == (True, 1)
    assert state["instance"] == {
        "instanceId": body["instanceId"],
        "instanceName": "Work laptop",
        "createdAt": body["createdAt"],
    }
    unknown = api_client.post(VALIDATE, {"key": key, "instanceId": str(uuid.uuid4())}, format="json").json()
    assert (unknown["valid"], unknown["instance"]) == (False, None)


def test_the_activation_limit_refuses_one_more_until_one_is_deactivated(api_client):
    key, _, _ = sold_key(activation_limit=2)
    first = activate(api_client, key).json()
    activate(api_client, key)

    refused = activate(api_client, key)

    assert (refused.status_code, refused.json()["code"]) == (409, "activation_limit_reached")
    ended = api_client.post(DEACTIVATE, {"key": key, "instanceId": first["instanceId"]}, format="json")
    assert ended.status_code == 204
    gone = api_client.post(VALIDATE, {"key": key, "instanceId": first["instanceId"]}, format="json").json()
    assert (gone["valid"], gone["activations"]) == (False, 1)
    assert activate(api_client, key).status_code == 201


def test_no_limit_means_unlimited(api_client):
    key, _, _ = sold_key(activation_limit=None)

    assert [activate(api_client, key, name=f"Box {n}").status_code for n in range(5)] == [201] * 5


def test_deactivating_an_unknown_or_ended_instance_is_404(api_client):
    key, _, _ = sold_key()
    instance = activate(api_client, key).json()["instanceId"]
    api_client.post(DEACTIVATE, {"key": key, "instanceId": instance}, format="json")

    for instance_id in (instance, str(uuid.uuid4())):
        response = api_client.post(DEACTIVATE, {"key": key, "instanceId": instance_id}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_instance_of_another_key_is_not_this_keys(api_client):
    key, _, product = sold_key(codes=3)
    other_order = order_purchase(
        buyer=funded_buyer("100.00"), product_id=product.id, quantity=1, method=PaymentMethod.WALLET
    )
    other_key = code_decrypt(Code.objects.get(delivery__order_id=other_order.id).ciphertext)
    instance = activate(api_client, other_key).json()["instanceId"]

    response = api_client.post(DEACTIVATE, {"key": key, "instanceId": instance}, format="json")

    assert response.status_code == 404
    assert LicenseActivation.objects.get(id=instance).deactivated_at is None


def test_a_fully_refunded_order_revokes_its_key(api_client):
    key, order, product = sold_key()
    instance = activate(api_client, key).json()["instanceId"]

    order_refund(order_id=order.id, actor=product.merchant)

    state = api_client.post(VALIDATE, {"key": key, "instanceId": instance}, format="json").json()
    assert (state["valid"], state["status"], state["activations"]) == (False, "REVOKED", 0)
    refused = activate(api_client, key)
    assert (refused.status_code, refused.json()["code"]) == (409, "license_revoked")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (VALIDATE, {}),
        (VALIDATE, {"key": ""}),
        (VALIDATE, {"key": "k" * 256}),
        (VALIDATE, {"key": "K", "instanceId": "not-a-uuid"}),
        (ACTIVATE, {"key": "K"}),
        (ACTIVATE, {"key": "K", "instanceName": ""}),
        (ACTIVATE, {"key": "K", "instanceName": "n" * 256}),
        (DEACTIVATE, {"key": "K"}),
    ],
)
def test_bad_bodies_are_400(api_client, path, body):
    response = api_client.post(path, body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert not LicenseActivation.objects.exists()


def test_an_authorization_header_is_ignored(api_client):
    key, _, _ = sold_key()
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert api_client.post(VALIDATE, {"key": key}, format="json").status_code == 200
    assert activate(api_client, key).status_code == 201


def test_the_license_endpoints_share_a_rate_limit_per_client_ip(settings):
    settings.LICENSE_THROTTLE_RATE = "3/min"
    key, _, _ = sold_key()
    client, elsewhere = APIClient(REMOTE_ADDR="203.0.113.7"), APIClient(REMOTE_ADDR="203.0.113.8")

    answers = [
        client.post(VALIDATE, {"key": key}, format="json").status_code,
        activate(client, key).status_code,
        client.post(DEACTIVATE, {"key": key, "instanceId": str(uuid.uuid4())}, format="json").status_code,
    ]
    throttled = client.post(VALIDATE, {"key": key}, format="json")

    assert answers == [200, 201, 404]
    assert (throttled.status_code, throttled.json()["code"]) == (429, "throttled")
    assert int(throttled["Retry-After"]) > 0
    assert elsewhere.post(VALIDATE, {"key": key}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_activations_at_limit_three_let_exactly_three_through():
    key, _, _ = sold_key(activation_limit=3)

    statuses = run_together(20, lambda i: activate(APIClient(), key, name=f"Box {i}").status_code)

    assert sorted(statuses) == [201] * 3 + [409] * 17
    assert LicenseActivation.objects.filter(deactivated_at__isnull=True).count() == 3


def test_keys_written_before_a_rotation_work_during_and_after_it(settings, api_client):
    key, _, _ = sold_key()
    old_key = settings.DELIVERY_ENCRYPTION_KEYS[0]
    new_key = base64.urlsafe_b64encode(b"r" * 32).decode()
    settings.DELIVERY_ENCRYPTION_KEYS = [new_key, old_key]

    # Before the command: found by its hash under the old key.
    assert api_client.post(VALIDATE, {"key": key}, format="json").status_code == 200
    call_command("reencrypt_codes", "--batch-size", "1")

    settings.DELIVERY_ENCRYPTION_KEYS = [new_key]
    assert api_client.post(VALIDATE, {"key": key}, format="json").status_code == 200
    code = Code.objects.get(status=CodeStatus.DELIVERED)
    assert (code_decrypt(code.ciphertext), code.lookup_hash) == (key, code_lookup_hash(key))
