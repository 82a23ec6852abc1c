"""The merchant's code pool over HTTP, and what CODES products change on /products."""

import pytest

from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import DeliveryKind, Product
from catalog.tests.factories import ProductFactory
from catalog.tests.test_api import assert_problem
from core.tests.threads import run_together
from delivery.crypto import code_decrypt
from delivery.models import Code, CodeStatus
from delivery.services.codes import codes_add
from delivery.tests.factories import codes_product, new_codes
from orders.models import PaymentMethod
from orders.services import order_purchase
from orders.tests.helpers import funded_buyer

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products"


def codes_url(product) -> str:
    return f"{PRODUCTS}/{product.id}/codes"


def stock(product) -> tuple[int, int]:
    product.refresh_from_db()
    return product.available_units, product.units_supplied


# --- POST /products/{id}/codes --------------------------------------------------------------


def test_upload_adds_codes_encrypted_and_raises_stock(auth_client):
    product = codes_product(codes=0)
    codes = new_codes(3)

    response = auth_client(product.merchant).post(codes_url(product), {"codes": codes}, format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {"added": 3, "skipped": 0, "availableUnits": 3}
    assert stock(product) == (3, 3)
    stored = Code.objects.filter(product=product)
    assert sorted(code_decrypt(code.ciphertext) for code in stored) == sorted(codes)
    assert all(code.ciphertext not in codes and code.status == CodeStatus.AVAILABLE for code in stored)


def test_duplicates_in_the_request_and_in_the_pool_are_skipped_and_codes_are_trimmed(auth_client):
    product = codes_product(codes=["ALPHA-0001"])

    response = auth_client(product.merchant).post(
        codes_url(product), {"codes": ["  ALPHA-0001 ", "BETA-0002", "BETA-0002", "\tGAMMA-0003\n"]}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json() == {"added": 2, "skipped": 2, "availableUnits": 3}
    assert sorted(code_decrypt(c.ciphertext) for c in Code.objects.filter(product=product)) == [
        "ALPHA-0001",
        "BETA-0002",
        "GAMMA-0003",
    ]
    assert stock(product) == (3, 3)


def test_the_same_code_may_be_in_two_products_pools(auth_client):
    first = codes_product(codes=["SHARED-CODE"])
    second = codes_product(codes=0, merchant=first.merchant)

    response = auth_client(first.merchant).post(codes_url(second), {"codes": ["SHARED-CODE"]}, format="json")

    assert response.json()["added"] == 1


def test_an_upload_is_idempotent_with_a_key(auth_client):
    product = codes_product(codes=0)
    client = auth_client(product.merchant)
    body = {"codes": new_codes(2)}

    first = client.post(codes_url(product), body, format="json", HTTP_IDEMPOTENCY_KEY="upload-1")
    again = client.post(codes_url(product), body, format="json", HTTP_IDEMPOTENCY_KEY="upload-1")

    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() == {"added": 2, "skipped": 0, "availableUnits": 2}
    assert Code.objects.filter(product=product).count() == 2


@pytest.mark.parametrize("kind", [DeliveryKind.NONE, DeliveryKind.FILE])
def test_codes_for_a_product_of_another_kind_are_409_and_nothing_is_written(auth_client, kind):
    product = ProductFactory(delivery_kind=kind, available_units=4)

    response = auth_client(product.merchant).post(codes_url(product), {"codes": ["X-1"]}, format="json")

    assert_problem(response, 409, "delivery_kind_mismatch")
    assert not Code.objects.exists()
    assert stock(product) == (4, 4)


@pytest.mark.parametrize(
    "codes",
    [
        [],
        ["   "],
        [""],
        ["x" * 256],
        ["zero\u200bwidth"],
        ["bell\x07"],
        ["line\nbreak"],
        [None],
        [12345],
        "NOT-A-LIST",
        [f"C-{n}" for n in range(1001)],
    ],
    ids=[
        "empty",
        "blank",
        "empty-string",
        "too-long",
        "invisible",
        "control",
        "newline",
        "null",
        "number",
        "str",
        "1001",
    ],
)
def test_bad_codes_are_400_and_nothing_is_written(auth_client, codes):
    product = codes_product(codes=0)

    # A good code beside the bad one: the whole upload is refused, not the bad code alone.
    body = {"codes": [*codes, "GOOD-1"] if isinstance(codes, list) and codes else codes}

    response = auth_client(product.merchant).post(codes_url(product), body, format="json")

    assert_problem(response, 400, "validation_error")
    assert not Code.objects.exists()
    assert stock(product) == (0, 0)


def test_255_characters_and_1000_codes_are_accepted(auth_client):
    product = codes_product(codes=0)
    codes = ["y" * 255, *[f"BULK-{n:04d}" for n in range(999)]]

    response = auth_client(product.merchant).post(codes_url(product), {"codes": codes}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["added"] == 1000


def test_only_the_owner_merchant_manages_a_pool(auth_client, api_client):
    product = codes_product(codes=1)
    body = {"codes": ["X-1"]}

    assert_problem(
        auth_client(MerchantFactory()).post(codes_url(product), body, format="json"), 403, "permission_denied"
    )
    assert_problem(auth_client(UserFactory()).post(codes_url(product), body, format="json"), 403, "permission_denied")
    assert_problem(api_client.post(codes_url(product), body, format="json"), 401, "not_authenticated")
    assert_problem(auth_client(MerchantFactory()).get(codes_url(product)), 403, "permission_denied")
    assert Code.objects.count() == 1


def test_a_deleted_or_missing_product_is_404(auth_client):
    product = codes_product(codes=0)
    Product.objects.filter(id=product.id).update(deleted_at="2026-01-01T00:00:00Z")

    response = auth_client(product.merchant).post(codes_url(product), {"codes": ["X-1"]}, format="json")

    assert_problem(response, 404, "not_found")


# --- GET /products/{id}/codes -------------------------------------------------------------------


def test_the_list_shows_hints_and_orders_never_the_codes(auth_client):
    product = codes_product(codes=["FIRST-AAAA-1111", "SECOND-BBBB-2222"])
    order = order_purchase(buyer=funded_buyer("50.00"), product_id=product.id, quantity=1, method=PaymentMethod.WALLET)

    response = auth_client(product.merchant).get(codes_url(product))

    assert response.status_code == 200
    results = response.json()["results"]
    assert response.json()["count"] == 2
    assert {row["hint"] for row in results} == {"1111", "2222"}
    assert all(set(row) == {"id", "status", "hint", "orderId", "createdAt"} for row in results)
    by_status = {row["status"]: row for row in results}
    assert by_status["DELIVERED"]["orderId"] == str(order.id)
    assert by_status["AVAILABLE"]["orderId"] is None
    assert "FIRST-AAAA" not in response.content.decode() and "SECOND-BBBB" not in response.content.decode()


def test_the_list_filters_by_status_and_leaves_deleted_codes_out(auth_client):
    product = codes_product(codes=3)
    order_purchase(buyer=funded_buyer("50.00"), product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    client = auth_client(product.merchant)
    available = Code.objects.filter(product=product, status=CodeStatus.AVAILABLE).first()
    client.delete(f"{codes_url(product)}/{available.id}")

    assert client.get(codes_url(product), {"status": "AVAILABLE"}).json()["count"] == 1
    assert client.get(codes_url(product), {"status": "DELIVERED"}).json()["count"] == 1
    assert client.get(codes_url(product)).json()["count"] == 2
    assert_problem(client.get(codes_url(product), {"status": "SOLD"}), 400, "validation_error")


# --- DELETE /products/{id}/codes/{codeId} -------------------------------------------------------


def test_deleting_an_available_code_takes_its_unit_from_stock(auth_client):
    product = codes_product(codes=2)
    code = Code.objects.filter(product=product).first()

    response = auth_client(product.merchant).delete(f"{codes_url(product)}/{code.id}")

    assert response.status_code == 204
    assert stock(product) == (1, 1)
    code.refresh_from_db()
    assert code.deleted_at is not None
    # Gone from the pool: the same code can be uploaded again.
    again = auth_client(product.merchant).post(
        codes_url(product), {"codes": [code_decrypt(code.ciphertext)]}, format="json"
    )
    assert again.json() == {"added": 1, "skipped": 0, "availableUnits": 2}


def test_deleting_a_code_that_is_not_available_is_409(auth_client):
    product = codes_product(codes=2)
    order_purchase(buyer=funded_buyer("50.00"), product_id=product.id, quantity=1, method=PaymentMethod.WALLET)
    delivered = Code.objects.get(product=product, status=CodeStatus.DELIVERED)

    response = auth_client(product.merchant).delete(f"{codes_url(product)}/{delivered.id}")

    assert_problem(response, 409, "invalid_code_state")
    delivered.refresh_from_db()
    assert (delivered.status, delivered.deleted_at) == (CodeStatus.DELIVERED, None)
    assert stock(product) == (1, 2)


def test_deleting_an_unknown_or_another_products_code_is_404(auth_client):
    product = codes_product(codes=1)
    other = codes_product(codes=1, merchant=product.merchant)
    others_code = Code.objects.get(product=other)
    client = auth_client(product.merchant)

    assert_problem(client.delete(f"{codes_url(product)}/{others_code.id}"), 404, "not_found")
    assert_problem(client.delete(f"{codes_url(product)}/00000000-0000-4000-8000-000000000000"), 404, "not_found")
    assert stock(other) == (1, 1)


# --- CODES products on /products ----------------------------------------------------------------


def test_a_codes_product_is_created_with_no_units(auth_client, merchant):
    body = {"name": "Game key", "price": "20.00", "deliveryKind": "CODES", "activationLimit": 3}

    response = auth_client(merchant).post(PRODUCTS, body, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["availableUnits"], response.json()["deliveryKind"]) == (0, "CODES")
    assert response.json()["activationLimit"] == 3


@pytest.mark.parametrize("units", [0, 5, None, "abc"])
def test_sending_available_units_for_a_codes_product_is_400(auth_client, merchant, units):
    body = {"name": "Game key", "price": "20.00", "deliveryKind": "CODES", "availableUnits": units}

    assert_problem(auth_client(merchant).post(PRODUCTS, body, format="json"), 400, "validation_error")
    assert not Product.objects.exists()


def test_patching_available_units_of_a_codes_product_is_400(auth_client):
    product = codes_product(codes=2)

    response = auth_client(product.merchant).patch(f"{PRODUCTS}/{product.id}", {"availableUnits": 9}, format="json")

    assert_problem(response, 400, "validation_error")
    assert stock(product) == (2, 2)


def test_the_activation_limit_is_patched_and_the_kind_never_changes(auth_client):
    product = codes_product(codes=1)

    response = auth_client(product.merchant).patch(
        f"{PRODUCTS}/{product.id}", {"activationLimit": 2, "deliveryKind": "FILE"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["activationLimit"], response.json()["deliveryKind"]) == (2, "CODES")


@pytest.mark.parametrize("limit", [0, -1, 1_000_001, "two"])
def test_an_out_of_range_activation_limit_is_400(auth_client, limit):
    product = codes_product(codes=1)

    response = auth_client(product.merchant).patch(
        f"{PRODUCTS}/{product.id}", {"activationLimit": limit}, format="json"
    )

    assert_problem(response, 400, "validation_error")


def test_an_activation_limit_is_for_codes_products_only(auth_client, merchant, product):
    body = {"name": "Ebook", "price": "5.00", "availableUnits": 1, "activationLimit": 2}

    assert_problem(auth_client(merchant).post(PRODUCTS, body, format="json"), 400, "validation_error")
    patched = auth_client(merchant).patch(f"{PRODUCTS}/{product.id}", {"activationLimit": 2}, format="json")
    assert_problem(patched, 400, "validation_error")


def test_the_errors_of_bad_codes_name_each_by_its_position(auth_client):
    product = codes_product(codes=0)

    response = auth_client(product.merchant).post(codes_url(product), {"codes": ["OK-1", "", "a\x07"]}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert len(body["errors"]["codes"]) == 2
    assert body["errors"]["codes"][0].startswith("Code 1: ") and body["errors"]["codes"][1].startswith("Code 2: ")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_uploads_of_the_same_codes_add_each_once():
    product = codes_product(codes=0)
    codes = new_codes(5)

    results = run_together(10, lambda i: codes_add(product_id=product.id, merchant=product.merchant, codes=codes))

    assert sorted(result.added for result in results) == [0] * 9 + [5]
    assert Code.objects.filter(product=product).count() == 5
    assert stock(product) == (5, 5)
