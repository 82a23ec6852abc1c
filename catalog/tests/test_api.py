import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import MerchantFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products"
MY_PRODUCTS = "/api/v1/products/merchant/my-products"
PRODUCT_KEYS = {
    "id",
    "name",
    "description",
    "price",
    "availableUnits",
    "isActive",
    "merchantId",
    "createdAt",
    "updatedAt",
    "deliveryKind",
    "activationLimit",
}


def detail(product_id) -> str:
    return f"{PRODUCTS}/{product_id}"


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


VALID_BODY = {"name": "E-book", "description": "A good read.", "price": "12.50", "availableUnits": 5}


# --- POST /products -----------------------------------------------------------


def test_merchant_creates_a_product(auth_client, merchant):
    response = auth_client(merchant).post(PRODUCTS, VALID_BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PRODUCT_KEYS
    assert body["name"] == "E-book"
    assert body["description"] == "A good read."
    assert body["price"] == "12.50"
    assert body["availableUnits"] == 5
    assert body["isActive"] is True
    assert body["merchantId"] == str(merchant.id)
    product = Product.objects.get(id=body["id"])
    assert product.merchant == merchant
    assert product.units_supplied == 5


def test_create_needs_only_name_price_and_units(auth_client, merchant):
    response = auth_client(merchant).post(PRODUCTS, {"name": "Minimal", "price": 3, "availableUnits": 0}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["description"] == ""
    assert body["isActive"] is True
    assert body["price"] == "3.00"
    assert body["availableUnits"] == 0


def test_create_accepts_a_json_number_price(auth_client, merchant):
    response = auth_client(merchant).post(
        PRODUCTS, {"name": "Number", "price": 10.1, "availableUnits": 1, "isActive": False}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["price"] == "10.10"
    assert response.json()["isActive"] is False


def test_create_ignores_undocumented_keys(auth_client, merchant):
    other = MerchantFactory()
    forced_id = uuid.uuid4()
    body = {**VALID_BODY, "merchantId": str(other.id), "id": str(forced_id), "createdAt": "2000-01-01T00:00:00Z"}

    response = auth_client(merchant).post(PRODUCTS, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["merchantId"] == str(merchant.id)
    assert response.json()["id"] != str(forced_id)
    assert not response.json()["createdAt"].startswith("2000")


def test_user_cannot_create_a_product(auth_client, user):
    response = auth_client(user).post(PRODUCTS, VALID_BODY, format="json")

    assert_problem(response, 403, "permission_denied")
    assert not Product.objects.exists()


def test_anonymous_cannot_create_a_product(api_client):
    assert_problem(api_client.post(PRODUCTS, VALID_BODY, format="json"), 401, "not_authenticated")


def test_create_requires_name_price_and_units(auth_client, merchant):
    response = auth_client(merchant).post(PRODUCTS, {"description": "only this"}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"name", "price", "availableUnits"}


INVALID_FIELDS = [
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 201),
    ("name", None),
    ("name", "nul\x00byte"),
    ("description", "x" * 5001),
    ("price", 0),
    ("price", "0.00"),
    ("price", -1),
    ("price", "1.005"),
    ("price", Decimal("1.005")),
    ("price", "abc"),
    ("price", True),
    ("price", "NaN"),
    ("price", "1000000000000.00"),
    ("price", "999999999999.99"),
    ("price", "1000000.01"),
    ("price", "١٢"),
    ("price", "+5"),
    ("availableUnits", -1),
    ("availableUnits", 1.5),
    ("availableUnits", "x"),
    ("availableUnits", 2_147_483_648),
    ("availableUnits", 1_000_000_001),
    ("availableUnits", None),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_create_rejects_invalid_fields(auth_client, merchant, field, value):
    response = auth_client(merchant).post(PRODUCTS, {**VALID_BODY, field: value}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]
    assert not Product.objects.exists()


def test_create_accepts_the_largest_price_and_stock(auth_client, merchant):
    body = {**VALID_BODY, "price": "1000000.00", "availableUnits": 1_000_000_000}

    response = auth_client(merchant).post(PRODUCTS, body, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["price"], response.json()["availableUnits"]) == ("1000000.00", 1_000_000_000)


def test_restocks_past_a_32_bit_total_supplied_are_recorded(auth_client, merchant):
    """Units supplied add up over a product's life; the stock figure itself stays bounded."""
    product = ProductFactory(merchant=merchant, available_units=0, units_supplied=2_000_000_000)

    response = auth_client(merchant).patch(detail(product.id), {"availableUnits": 1_000_000_000}, format="json")

    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert (product.available_units, product.units_supplied) == (1_000_000_000, 3_000_000_000)


def test_patch_beyond_the_stock_bound_is_400_and_changes_nothing(auth_client, merchant):
    product = ProductFactory(merchant=merchant, available_units=5)

    response = auth_client(merchant).patch(detail(product.id), {"availableUnits": 2_147_483_647}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert list(body["errors"]) == ["availableUnits"]
    product.refresh_from_db()
    assert (product.available_units, product.units_supplied) == (5, 5)


def test_create_accepts_names_at_the_length_limits(auth_client, merchant):
    client = auth_client(merchant)

    assert client.post(PRODUCTS, {**VALID_BODY, "name": "x"}, format="json").status_code == 201
    assert client.post(PRODUCTS, {**VALID_BODY, "name": "x" * 200}, format="json").status_code == 201


def test_create_rejects_malformed_json(auth_client, merchant):
    response = auth_client(merchant).post(PRODUCTS, "{not json", content_type="application/json")

    assert_problem(response, 400, "validation_error")


# --- GET /products/{id} -------------------------------------------------------


def test_anyone_reads_a_product(api_client, product):
    response = api_client.get(detail(product.id))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PRODUCT_KEYS
    assert body["id"] == str(product.id)
    assert body["price"] == "10.00"
    assert body["availableUnits"] == 10
    assert body["merchantId"] == str(product.merchant_id)
    assert body["createdAt"].endswith("Z")


def test_reading_needs_no_token_but_rejects_a_bad_one(api_client, product):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert_problem(api_client.get(detail(product.id)), 401, "invalid_token")


@pytest.mark.parametrize("state", [{"is_active": False}, {"deleted_at": timezone.now()}], ids=["inactive", "deleted"])
def test_hidden_products_are_not_found(api_client, merchant, state):
    product = ProductFactory(merchant=merchant, **state)

    assert_problem(api_client.get(detail(product.id)), 404, "not_found")


def test_missing_product_is_not_found(api_client, db):
    assert_problem(api_client.get(detail(uuid.uuid4())), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "merchant", "0000-1111"])
def test_a_non_uuid_id_is_not_found(api_client, db, bad_id):
    assert_problem(api_client.get(detail(bad_id)), 404, "not_found")


def test_an_upper_case_uuid_reads_the_same_product(api_client, product):
    response = api_client.get(detail(str(product.id).upper()))

    assert response.status_code == 200
    assert response.json()["id"] == str(product.id)


# --- GET /products ------------------------------------------------------------


def test_list_shows_active_non_deleted_products_newest_first(api_client, merchant):
    oldest = ProductFactory(merchant=merchant, name="oldest")
    newest = ProductFactory(merchant=merchant, name="newest")
    ProductFactory(merchant=merchant, name="inactive", is_active=False)
    ProductFactory(merchant=merchant, name="deleted", deleted_at=timezone.now())
    Product.objects.filter(id=oldest.id).update(created_at=timezone.now() - timedelta(days=1))

    response = api_client.get(PRODUCTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["next"] is None and body["previous"] is None
    assert names(response) == ["newest", "oldest"]
    assert set(body["results"][0]) == PRODUCT_KEYS
    assert body["results"][0]["id"] == str(newest.id)


def test_list_paginates_with_page_and_limit(api_client, merchant):
    ProductFactory.create_batch(5, merchant=merchant)

    first = api_client.get(PRODUCTS, {"limit": 2})
    second = api_client.get(PRODUCTS, {"limit": 2, "page": 2})
    last = api_client.get(PRODUCTS, {"limit": 2, "page": 3})

    assert first.json()["count"] == 5
    assert len(first.json()["results"]) == 2
    assert first.json()["previous"] is None
    assert "page=2" in first.json()["next"] and "limit=2" in first.json()["next"]
    assert "page" not in second.json()["previous"]
    assert "page=3" in second.json()["next"]
    assert len(last.json()["results"]) == 1
    assert last.json()["next"] is None
    assert "page=2" in last.json()["previous"]
    seen = [item["id"] for page in (first, second, last) for item in page.json()["results"]]
    assert len(set(seen)) == 5


def test_list_limit_is_capped_at_100(api_client, merchant):
    ProductFactory.create_batch(101, merchant=merchant)

    response = api_client.get(PRODUCTS, {"limit": 500})

    assert len(response.json()["results"]) == 100


@pytest.mark.parametrize("page", ["9", "0", "abc"])
def test_list_page_out_of_range_is_not_found(api_client, product, page):
    assert_problem(api_client.get(PRODUCTS, {"page": page}), 404, "not_found")


def test_list_last_page_alias(api_client, merchant):
    ProductFactory.create_batch(3, merchant=merchant)

    response = api_client.get(PRODUCTS, {"limit": 2, "page": "last"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --- filters ------------------------------------------------------------------


@pytest.fixture
def shelf(db):
    """Four products from two merchants, created a minute apart (oldest first)."""
    alice, bob = MerchantFactory(), MerchantFactory()
    products = [
        ProductFactory(merchant=alice, name="Cheap Ebook", description="plain text", price=Decimal("5.00")),
        ProductFactory(merchant=alice, name="Audio course", description="An EBOOK companion", price=Decimal("20.00")),
        ProductFactory(merchant=bob, name="Bundle", description="", price=Decimal("50.00"), available_units=0),
        ProductFactory(merchant=bob, name="another thing", description="misc", price=Decimal("20.00")),
    ]
    start = timezone.now() - timedelta(hours=1)
    for minute, product in enumerate(products):
        Product.objects.filter(id=product.id).update(created_at=start + timedelta(minutes=minute))
    return {"alice": alice, "bob": bob, "products": products}


def test_search_matches_name_and_description_case_insensitively(api_client, shelf):
    response = api_client.get(PRODUCTS, {"search": "eBoOk"})

    assert sorted(names(response)) == ["Audio course", "Cheap Ebook"]


def test_search_treats_wildcards_literally(api_client, shelf):
    assert api_client.get(PRODUCTS, {"search": "%"}).json()["count"] == 0


def test_blank_search_matches_everything(api_client, shelf):
    assert api_client.get(PRODUCTS, {"search": ""}).json()["count"] == 4


def test_min_price_is_inclusive(api_client, shelf):
    response = api_client.get(PRODUCTS, {"minPrice": "20"})

    assert sorted(names(response)) == ["Audio course", "Bundle", "another thing"]


def test_max_price_is_inclusive(api_client, shelf):
    response = api_client.get(PRODUCTS, {"maxPrice": "20.00"})

    assert sorted(names(response)) == ["Audio course", "Cheap Ebook", "another thing"]


def test_price_range(api_client, shelf):
    response = api_client.get(PRODUCTS, {"minPrice": "6", "maxPrice": "49.99"})

    assert sorted(names(response)) == ["Audio course", "another thing"]


def test_merchant_filter(api_client, shelf):
    response = api_client.get(PRODUCTS, {"merchantId": str(shelf["bob"].id)})

    assert sorted(names(response)) == ["Bundle", "another thing"]


def test_in_stock_true_hides_sold_out_products(api_client, shelf):
    response = api_client.get(PRODUCTS, {"inStock": "true"})

    assert "Bundle" not in names(response)
    assert response.json()["count"] == 3


def test_in_stock_false_shows_only_sold_out_products(api_client, shelf):
    assert names(api_client.get(PRODUCTS, {"inStock": "false"})) == ["Bundle"]


def test_filters_combine(api_client, shelf):
    response = api_client.get(PRODUCTS, {"merchantId": str(shelf["alice"].id), "search": "audio", "maxPrice": "25"})

    assert names(response) == ["Audio course"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["another thing", "Bundle", "Audio course", "Cheap Ebook"]),
        ("-createdAt", ["another thing", "Bundle", "Audio course", "Cheap Ebook"]),
        ("createdAt", ["Cheap Ebook", "Audio course", "Bundle", "another thing"]),
        # Ties on price fall back to newest first.
        ("price", ["Cheap Ebook", "another thing", "Audio course", "Bundle"]),
        ("-price", ["Bundle", "another thing", "Audio course", "Cheap Ebook"]),
    ],
)
def test_ordering(api_client, shelf, ordering, expected):
    params = {"ordering": ordering} if ordering else {}

    assert names(api_client.get(PRODUCTS, params)) == expected


def test_ordering_by_name(api_client, merchant):
    # One case only: how upper and lower case interleave depends on the database collation.
    for name in ["beta", "alpha", "gamma"]:
        ProductFactory(merchant=merchant, name=name)

    assert names(api_client.get(PRODUCTS, {"ordering": "name"})) == ["alpha", "beta", "gamma"]


BAD_FILTERS = [
    ("minPrice", "abc"),
    ("minPrice", "-1"),
    ("minPrice", "1.005"),
    ("minPrice", "NaN"),
    ("maxPrice", "abc"),
    ("maxPrice", "-0.01"),
    ("maxPrice", "Infinity"),
    ("merchantId", "not-a-uuid"),
    ("merchantId", ""),
    ("inStock", "maybe"),
    ("inStock", ""),
    ("ordering", "unknown"),
    ("ordering", "created_at"),
    ("ordering", "price,name"),
    ("ordering", ""),
    ("search", "x" * 201),
    ("search", "nul\x00byte"),
]


@pytest.mark.parametrize(("param", "value"), BAD_FILTERS)
def test_bad_filter_values_are_a_validation_error(api_client, shelf, param, value):
    response = api_client.get(PRODUCTS, {param: value})

    body = assert_problem(response, 400, "validation_error")
    assert param in body["errors"]


def test_min_price_above_max_price_is_a_validation_error(api_client, shelf):
    body = assert_problem(api_client.get(PRODUCTS, {"minPrice": "10", "maxPrice": "5"}), 400, "validation_error")

    assert "maxPrice" in body["errors"]


def test_zero_is_a_valid_price_bound(api_client, shelf):
    assert api_client.get(PRODUCTS, {"minPrice": "0"}).json()["count"] == 4
    assert api_client.get(PRODUCTS, {"maxPrice": "0"}).json()["count"] == 0


def test_unknown_query_parameters_are_ignored(api_client, shelf):
    assert api_client.get(PRODUCTS, {"color": "blue"}).json()["count"] == 4


# --- PATCH /products/{id} -----------------------------------------------------


def test_owner_updates_documented_fields(auth_client, product):
    response = auth_client(product.merchant).patch(
        detail(product.id),
        {"name": "Renamed", "description": "New text", "price": "15.25", "availableUnits": 3, "isActive": False},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["description"] == "New text"
    assert body["price"] == "15.25"
    assert body["availableUnits"] == 3
    assert body["isActive"] is False
    product.refresh_from_db()
    assert (product.name, product.price, product.available_units, product.is_active) == (
        "Renamed",
        Decimal("15.25"),
        3,
        False,
    )


def test_patch_changes_only_the_fields_sent(auth_client, product):
    before = Product.objects.get(id=product.id)

    response = auth_client(product.merchant).patch(detail(product.id), {"price": "11.00"}, format="json")

    assert response.status_code == 200
    product.refresh_from_db()
    assert product.price == Decimal("11.00")
    assert (product.name, product.description, product.available_units, product.is_active) == (
        before.name,
        before.description,
        before.available_units,
        before.is_active,
    )


def test_patch_with_an_empty_body_changes_nothing(auth_client, product):
    before = Product.objects.get(id=product.id)

    response = auth_client(product.merchant).patch(detail(product.id), {}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == before.name
    assert Product.objects.get(id=product.id).updated_at == before.updated_at


def test_patch_can_clear_the_description(auth_client, product):
    response = auth_client(product.merchant).patch(detail(product.id), {"description": ""}, format="json")

    assert response.json()["description"] == ""


def test_patch_cannot_change_owner_id_or_creation_time(auth_client, product):
    other = MerchantFactory()
    before = Product.objects.get(id=product.id)

    response = auth_client(product.merchant).patch(
        detail(product.id),
        {
            "merchantId": str(other.id),
            "merchant": str(other.id),
            "id": str(uuid.uuid4()),
            "createdAt": "2000-01-01T00:00:00Z",
            "unitsSupplied": 999,
            "deletedAt": "2000-01-01T00:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["merchantId"] == str(product.merchant_id)
    assert response.json()["id"] == str(product.id)
    after = Product.objects.get(id=product.id)
    assert after.merchant_id == before.merchant_id
    assert after.created_at == before.created_at
    assert after.units_supplied == before.units_supplied
    assert after.deleted_at is None


def test_another_merchant_cannot_patch(auth_client, product):
    response = auth_client(MerchantFactory()).patch(detail(product.id), {"name": "Hijacked"}, format="json")

    assert_problem(response, 403, "permission_denied")
    product.refresh_from_db()
    assert product.name != "Hijacked"


def test_a_user_cannot_patch(auth_client, user, product):
    assert_problem(auth_client(user).patch(detail(product.id), {"name": "x"}, format="json"), 403, "permission_denied")


def test_anonymous_cannot_patch(api_client, product):
    assert_problem(api_client.patch(detail(product.id), {"name": "x"}, format="json"), 401, "not_authenticated")


def test_patch_of_a_deleted_product_is_not_found(auth_client, merchant):
    product = ProductFactory(merchant=merchant, deleted_at=timezone.now())

    assert_problem(auth_client(merchant).patch(detail(product.id), {"name": "x"}, format="json"), 404, "not_found")


def test_patch_of_a_missing_product_is_not_found(auth_client, merchant):
    assert_problem(auth_client(merchant).patch(detail(uuid.uuid4()), {"name": "x"}, format="json"), 404, "not_found")


def test_owner_can_patch_an_inactive_product_back_to_active(auth_client, merchant):
    product = ProductFactory(merchant=merchant, is_active=False)

    response = auth_client(merchant).patch(detail(product.id), {"isActive": True}, format="json")

    assert response.status_code == 200
    assert response.json()["isActive"] is True


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_patch_rejects_invalid_fields(auth_client, product, field, value):
    response = auth_client(product.merchant).patch(detail(product.id), {field: value}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]


def test_put_is_not_allowed(auth_client, product):
    response = auth_client(product.merchant).put(detail(product.id), VALID_BODY, format="json")

    assert_problem(response, 405, "method_not_allowed")


# --- DELETE /products/{id} ----------------------------------------------------


def test_owner_soft_deletes_a_product(auth_client, api_client, product):
    response = auth_client(product.merchant).delete(detail(product.id))

    assert response.status_code == 204
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert_problem(api_client.get(detail(product.id)), 404, "not_found")


def test_another_merchant_cannot_delete(auth_client, product):
    assert_problem(auth_client(MerchantFactory()).delete(detail(product.id)), 403, "permission_denied")
    product.refresh_from_db()
    assert product.deleted_at is None


def test_a_user_cannot_delete(auth_client, user, product):
    assert_problem(auth_client(user).delete(detail(product.id)), 403, "permission_denied")


def test_anonymous_cannot_delete(api_client, product):
    assert_problem(api_client.delete(detail(product.id)), 401, "not_authenticated")


def test_delete_of_a_deleted_product_is_not_found(auth_client, product):
    client = auth_client(product.merchant)
    client.delete(detail(product.id))

    assert_problem(client.delete(detail(product.id)), 404, "not_found")


# --- GET /products/merchant/my-products ---------------------------------------


def test_my_products_lists_own_products_including_inactive(auth_client, merchant):
    active = ProductFactory(merchant=merchant, name="active")
    inactive = ProductFactory(merchant=merchant, name="inactive", is_active=False)
    ProductFactory(merchant=merchant, name="deleted", deleted_at=timezone.now())
    ProductFactory(name="someone else's")
    Product.objects.filter(id=active.id).update(created_at=timezone.now() - timedelta(minutes=1))

    response = auth_client(merchant).get(MY_PRODUCTS)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [item["id"] for item in response.json()["results"]] == [str(inactive.id), str(active.id)]
    assert response.json()["results"][0]["isActive"] is False


def test_my_products_paginates(auth_client, merchant):
    ProductFactory.create_batch(3, merchant=merchant)

    response = auth_client(merchant).get(MY_PRODUCTS, {"limit": 2})

    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
    assert "page=2" in response.json()["next"]


def test_a_user_has_no_products_list(auth_client, user):
    assert_problem(auth_client(user).get(MY_PRODUCTS), 403, "permission_denied")


def test_anonymous_has_no_products_list(api_client, db):
    assert_problem(api_client.get(MY_PRODUCTS), 401, "not_authenticated")


# --- OpenAPI ------------------------------------------------------------------


def test_openapi_documents_the_product_endpoints(api_client, db):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()

    paths = schema["paths"]
    assert set(paths["/api/v1/products"]) >= {"get", "post"}
    assert set(paths["/api/v1/products/{id}"]) >= {"get", "patch", "delete"}
    assert "put" not in paths["/api/v1/products/{id}"]
    assert "get" in paths["/api/v1/products/merchant/my-products"]
    list_params = {p["name"] for p in paths["/api/v1/products"]["get"]["parameters"]}
    assert list_params >= {"search", "minPrice", "maxPrice", "merchantId", "inStock", "ordering", "page", "limit"}
    ordering = next(p for p in paths["/api/v1/products"]["get"]["parameters"] if p["name"] == "ordering")
    assert set(ordering["schema"]["enum"]) == {"price", "-price", "createdAt", "-createdAt", "name"}
    id_param = paths["/api/v1/products/{id}"]["get"]["parameters"][0]
    assert id_param["schema"]["format"] == "uuid"
    assert "403" in paths["/api/v1/products"]["post"]["responses"]
    assert "403" in paths["/api/v1/products/{id}"]["patch"]["responses"]
    product_schema = schema["components"]["schemas"]["Product"]["properties"]
    assert set(product_schema) == PRODUCT_KEYS
